#!/usr/bin/env python3
"""
Expected token ids for gpu-runner/src/tokenizer/clip-tokenizer.test.ts, computed by
Hugging Face's CLIPTokenizer (transformers, backed by the Rust `tokenizers` library) with
the arguments diffusers' SDXL pipeline passes: padding="max_length",
max_length=model_max_length, truncation=True.

Two vocabularies:
- CLIP's real one (OpenAI CLIP's `bpe_simple_vocab_16e6.txt.gz`, as shipped by the
  `open_clip_torch` PyPI package, MIT licence): the first 48,894 merges are written to
  src/tokenizer/fixtures/clip-merges.txt.gz (208 KB), from which vocab.json follows by
  CLIP's own rule (256 byte symbols, the same with </w>, one token per merge,
  <|startoftext|>, <|endoftext|>: 49,408 ids, identical to openai/clip-vit-large-patch14).
  The test rebuilds the two SDXL tokenizer directories from it, with the tiny model's
  tokenizer_config.json / special_tokens_map.json (SDXL's own: tokenizer pads with
  <|endoftext|>, tokenizer_2 with "!"), and checks their hashes against this fixture.
- the tiny model's generated one (pass the tiny model directory): ids, plus that
  both tokenizers saved by transformers' save_pretrained, which writes only tokenizer.json
  and tokenizer_config.json — the form current exports have — into
  fixtures/tiny-tokenizer-json/{tokenizer,tokenizer_2}/.

Run from the repository root:
  npm run build -w @atelier/gpu-runner
  node gpu-runner/dist/model/generate-tiny-model.js /tmp/tiny-sdxl
  python3 -m venv /work/venv-ref
  /work/venv-ref/bin/pip install transformers==5.23.0 tokenizers==0.23.3 open_clip_torch==3.3.0
  /work/venv-ref/bin/python gpu-runner/scripts/make-tokenizer-fixture.py /tmp/tiny-sdxl
"""
import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile

import open_clip
import tokenizers
import transformers
from transformers import CLIPTokenizer

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "src", "tokenizer", "fixtures")

PROMPTS = [
    "Product photo of a leather handbag on a white background, studio lighting",
    "a ceramic coffee mug",
    "",
    " ",
    "   spaces\tand\nnewlines   everywhere  ",
    "tabs\t\t\tand\r\nwindows line ends\u00a0and a no-break space",
    "UPPER case Words In A Title",
    "it's a best seller; we're adding colors and they'll ship, don't miss it — I'd say you've seen nothing",
    "IT'S LOUD, WE'RE HERE",
    "price 19.99, 2 for 30, 50% off!!! size 42",
    "1234567890 0.5mm 3x4 2024-12-31 12:30pm #1 No.7",
    "red-dress/blue_jeans (wool) [silk] {cotton} #sale @shop",
    "(masterpiece:1.3), [blurry], ((best quality)), \\(literal\\)",
    "what?! yes... no; maybe: \"quoted\" 'single' `backtick`",
    "a+b=c <tag> a&b 100$ €20 £5 ¥300 ~approx ^caret |pipe|",
    "wow!!! really?? hmm... ok!",
    "café crème brûlée, naïve façade",
    "Ångström Øresund Ærø smörgåsbord",
    "Ελληνικά ΟΔΟΣ σοφός",
    "Русский текст: кожаная сумка",
    "emoji 👜✨ and 中文 text",
    "👩‍👩‍👧‍👦 family, 👍🏽 skin tone, 🇫🇷 flag",
    "日本語の商品写真、白い背景",
    "한국어 제품 사진",
    "العربية حقيبة جلدية",
    "हिन्दी उत्पाद फोटो",
    "ﬁne ligature ＦＵＬＬＷＩＤＴＨ ① ½",
    "combining e\u0301 versus é",
    "zero\u200bwidth space and soft\u00adhyphen",
    "next\u0085line, byte\ufefforder mark, ideographic\u3000space, em\u2003space",
    "ΣΟΦΟΣ ΟΔΟΣ Σ İstanbul ǅ ẞ",
    "shout <|ENDOFTEXT|> loud <|EndOfText|>",
    "<|endoftext|>!<|startoftext|>!!",
    "zebra quartzite xylophone juxtaposition",
    "photo of the product <|endoftext|> after the end token",
    "<|startoftext|>start token typed by a user",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "the the the the",
    "minimalist product shot, soft shadows, 85mm lens, f/1.8, bokeh, 8k, hdr, octane render",
    "a bottle of perfume on marble, golden hour, cinematic lighting, ultra-detailed",
    "sneakers on a concrete floor, urban, street photography",
    "flat lay of skincare products, pastel colors, top-down view",
    "wristwatch on a dark wooden table with water droplets",
    "kitchen counter with a blender, morning light, lifestyle photo",
    "hand-made soap bars, natural ingredients, rustic background",
    "sunglasses on the beach sand, summer vibes",
    "christmas ornaments around a gift box, cozy, warm bokeh",
    "HDR, 4K, UHD, DSLR, RAW photo",
    "e-commerce packshot; SKU: AB-1234/XL",
    "url https://example.com/shop?item=42&color=red",
    "email me at someone@example.com",
    "C++ and C# and .NET",
    "\"nested 'quotes' here\"",
    "ALLCAPSWORDWITHOUTSPACES",
    "mIxEd CaSe WoRdS",
    "word" + "!" * 20,
    "handbag " * 40,
    "shoes, " * 30 + "and a final clause that is surely cut off",
    "a " * 74 + "end",
    "a " * 75 + "end",
    "a " * 76 + "end",
]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def bytes_to_unicode():
    # CLIP's table (openai/CLIP simple_tokenizer.py), so vocab.json comes out as CLIP's.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_real_merges():
    source = os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")
    lines = gzip.open(source).read().decode("utf-8").split("\n")
    merges = lines[1 : 49152 - 256 - 2 + 1]
    text = "#version: 0.2\n" + "\n".join(merges) + "\n"
    with open(os.path.join(FIXTURES, "clip-merges.txt.gz"), "wb") as out:
        out.write(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
    return merges


def write_real_tokenizer(dir, merges, tiny_folder):
    os.makedirs(dir)
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m.split(" ")) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    with open(os.path.join(dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({token: i for i, token in enumerate(vocab)}, f, ensure_ascii=False, separators=(",", ":"))
    with open(os.path.join(dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    # The tiny model's tokenizer_config.json and special_tokens_map.json are SDXL base 1.0's
    # (AddedToken specials, normalized; tokenizer_2 pads with "!").
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(os.path.join(tiny_folder, name), os.path.join(dir, name))


def cases_for(tok):
    out = []
    for prompt in PROMPTS:
        ids = tok(prompt, padding="max_length", max_length=tok.model_max_length, truncation=True).input_ids
        out.append({"prompt": prompt, "ids": ids, "tokens": tok.tokenize(prompt)})
    return out


def describe(dir, tok, files):
    return {
        "sha256": {name: sha256(os.path.join(dir, name)) for name in files},
        "padTokenId": tok.pad_token_id,
        "cases": cases_for(tok),
    }


def main(tiny_dir):
    version = f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}"
    merges = write_real_merges()
    scratch = tempfile.mkdtemp()
    try:
        real = {}
        for folder in ("tokenizer", "tokenizer_2"):
            dir = os.path.join(scratch, folder)
            write_real_tokenizer(dir, merges, os.path.join(tiny_dir, folder))
            real[folder] = describe(dir, CLIPTokenizer.from_pretrained(dir), ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"])
        with open(os.path.join(FIXTURES, "clip-vocab-ids.json"), "w", encoding="utf-8") as f:
            json.dump({"generatedBy": f"gpu-runner/scripts/make-tokenizer-fixture.py ({version})", "tokenizers": real}, f, ensure_ascii=False)
            f.write("\n")

        tiny = {}
        for folder in ("tokenizer", "tokenizer_2"):
            dir = os.path.join(tiny_dir, folder)
            tiny[folder] = describe(dir, CLIPTokenizer.from_pretrained(dir), ["vocab.json", "merges.txt"])
        saved = os.path.join(FIXTURES, "tiny-tokenizer-json")
        shutil.rmtree(saved, ignore_errors=True)
        for folder in ("tokenizer", "tokenizer_2"):
            CLIPTokenizer.from_pretrained(os.path.join(tiny_dir, folder)).save_pretrained(os.path.join(saved, folder))
        with open(os.path.join(FIXTURES, "tiny-vocab-ids.json"), "w", encoding="utf-8") as f:
            json.dump(
                {
                    "generatedBy": f"gpu-runner/scripts/make-tokenizer-fixture.py ({version})",
                    "savedFiles": sorted(os.listdir(os.path.join(saved, "tokenizer_2"))),
                    "tokenizers": tiny,
                },
                f,
                ensure_ascii=False,
            )
            f.write("\n")
    finally:
        shutil.rmtree(scratch)


if __name__ == "__main__":
    main(sys.argv[1])
