#!/usr/bin/env python3
"""
Expected token ids for gpu-runner/src/tokenizer/clip-tokenizer.test.ts, computed by
Hugging Face's CLIPTokenizer (transformers 5, backed by the Rust `tokenizers` library)
over the tiny model's generated vocabulary, with the arguments diffusers' SDXL pipeline
passes: padding="max_length", max_length=model_max_length, truncation=True.

Run from the repository root:
  npm run build -w @atelier/gpu-runner   # or: npx tsc -p gpu-runner
  node gpu-runner/dist/model/generate-tiny-model.js /tmp/tiny-sdxl
  python3 -m venv /tmp/tokref && /tmp/tokref/bin/pip install transformers tokenizers
  /tmp/tokref/bin/python gpu-runner/scripts/make-tokenizer-fixture.py /tmp/tiny-sdxl \
      > gpu-runner/src/tokenizer/fixtures/tiny-vocab-ids.json

The fixture records a hash of each tokenizer's vocab.json and merges.txt; the test fails
with a hint to rerun this script when the generator's vocabulary changes.
"""
import hashlib
import json
import sys

import tokenizers
import transformers
from transformers import CLIPTokenizer

PROMPTS = [
    "Product photo of a leather handbag on a white background, studio lighting",
    "a ceramic coffee mug",
    "",
    "   spaces\tand\nnewlines   everywhere  ",
    "UPPER case Words In A Title",
    "it's a best seller; we're adding colors and they'll ship, don't miss it",
    "price 19.99, 2 for 30, 50% off!!! size 42",
    "red-dress/blue_jeans (wool) [silk] {cotton} #sale @shop",
    "café crème brûlée, naïve façade",
    "zebra quartzite xylophone juxtaposition",
    "emoji 👜✨ and 中文 text",
    "photo of the product <|endoftext|> after the end token",
    "handbag " * 40,
    "shoes, " * 30 + "and a final clause that is surely cut off",
]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(model_dir):
    out = {
        "generatedBy": f"gpu-runner/scripts/make-tokenizer-fixture.py (transformers {transformers.__version__}, tokenizers {tokenizers.__version__})",
        "tokenizers": {},
    }
    for folder in ("tokenizer", "tokenizer_2"):
        path = f"{model_dir}/{folder}"
        tok = CLIPTokenizer.from_pretrained(path)
        cases = []
        for prompt in PROMPTS:
            ids = tok(prompt, padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
            cases.append({"prompt": prompt, "ids": ids, "tokens": tok.tokenize(prompt)})
        out["tokenizers"][folder] = {
            "vocabSha256": sha256(f"{path}/vocab.json"),
            "mergesSha256": sha256(f"{path}/merges.txt"),
            "padTokenId": tok.pad_token_id,
            "cases": cases,
        }
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
