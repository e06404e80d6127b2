#!/usr/bin/env python3
"""
A real-architecture image classifier for gpu-runner/src/safety/output-classifier.test.ts:
transformers' ViTForImageClassification (the architecture of Falconsai/nsfw_image_detection),
shrunk and with random weights, saved as a Hugging Face export is (config.json with
id2label, preprocessor_config.json of ViTImageProcessor), its graph exported by
torch.onnx with the input and output names Optimum uses (pixel_values → logits). Then,
for images the test rebuilds from the same integer formula,

  rgb[y][x][c] = (x * 7 + y * 13 + c * 50 + ((x * y) % 31) * 5) % 256

the nsfw probability that transformers itself computes (the image processor — Pillow's
resize, rescale, normalise — then the model, then softmax), written to expected.json; and
the same behind a CLIP-style processor (shortest edge, centre crop, bicubic), whose
configuration is written as preprocessor_config.clip.json.
Three sizes: one the model takes as it is, one reduced, one enlarged on one side and
reduced on the other.

Run from the repository root (never in CI; torch is ~4 GB):
  python3 -m venv /work/venv-ref
  /work/venv-ref/bin/pip install torch==2.15.0 transformers==5.23.0 pillow numpy
  /work/venv-ref/bin/pip install --target /tmp/onnx-lib onnx onnxscript   # for torch.onnx
  PYTHONPATH=/tmp/onnx-lib /work/venv-ref/bin/python gpu-runner/scripts/make-classifier-fixture.py \
      gpu-runner/src/safety/fixtures/vit-classifier
"""
import json
import os
import sys

import numpy as np
import PIL
import torch
import transformers
from PIL import Image
from transformers import CLIPImageProcessor, ViTConfig, ViTForImageClassification, ViTImageProcessor

SIZES = [(224, 224), (320, 240), (160, 300)]


def image(width, height):
    y, x = np.mgrid[0:height, 0:width]
    channels = [(x * 7 + y * 13 + c * 50 + ((x * y) % 31) * 5) % 256 for c in range(3)]
    return Image.fromarray(np.stack(channels, -1).astype(np.uint8), 'RGB')


def logit_difference(model, processor, picture):
    logits = model(**processor(picture, return_tensors='pt')).logits[0]
    return (logits[1] - logits[0]).item()


def main(out):
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    config = ViTConfig(
        image_size=224, patch_size=16, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=16, num_labels=2, id2label={0: 'normal', 1: 'nsfw'}, label2id={'normal': 0, 'nsfw': 1},
    )
    model = ViTForImageClassification(config).eval()
    processor = ViTImageProcessor(size={'height': 224, 'width': 224}, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    with torch.no_grad():
        # A random head barely tells the images apart: scale it, and centre it on their mean,
        # so that their probabilities spread out and a preprocessing mistake shows.
        diffs = [logit_difference(model, processor, image(w, h)) for w, h in SIZES]
        spread = max(diffs) - min(diffs)
        model.classifier.weight.mul_(4 / spread)
        model.classifier.bias.sub_(model.classifier.bias.clone())
        centre = sum(logit_difference(model, processor, image(w, h)) for w, h in SIZES) / len(SIZES)
        model.classifier.bias[1] -= centre
    config.save_pretrained(out)
    processor.save_pretrained(out)
    torch.onnx.export(
        model, (torch.zeros(1, 3, 224, 224),), os.path.join(out, 'model.onnx'),
        input_names=['pixel_values'], output_names=['logits'],
        dynamic_axes={'pixel_values': {0: 'batch_size'}, 'logits': {0: 'batch_size'}},
        opset_version=17, dynamo=False,
    )
    # The same model behind a CLIP-style processor (shortest edge, centre crop, bicubic), as
    # CLIP-based checkers are preprocessed; the test swaps this file in.
    clip = CLIPImageProcessor(
        size={'shortest_edge': 224}, crop_size={'height': 224, 'width': 224}, do_center_crop=True,
        image_mean=[0.48145466, 0.4578275, 0.40821073], image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    clip.to_json_file(os.path.join(out, 'preprocessor_config.clip.json'))
    rows = []
    for width, height in SIZES:
        with torch.no_grad():
            nsfw = [torch.softmax(model(**p(image(width, height), return_tensors='pt')).logits, -1)[0, 1].item() for p in (processor, clip)]
        rows.append({'width': width, 'height': height, 'nsfw': nsfw[0], 'nsfwClip': nsfw[1]})
    expected = {'transformers': transformers.__version__, 'torch': torch.__version__, 'pillow': PIL.__version__, 'images': rows}
    with open(os.path.join(out, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main(sys.argv[1])
