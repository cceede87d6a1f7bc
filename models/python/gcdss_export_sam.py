#!/usr/bin/env python3
"""Export a SAM model (segment-anything ViT-H/L/B) to the GCDSS SAM contract (packages/gcdss, spec gcdss.md §8.1):
two ONNX graphs that `SamMaskGenerator` runs.

    encoder  input  `image`            float32 [1, 3, S, S]  RGB, longest side resized to S (1024), (x - mean)/std on the
                                                             0..255 scale, zero-padded bottom/right (done in TypeScript)
             output `image_embeddings` float32 [1, C, E, E]  (256 x 64 x 64 for SAM)
    decoder  inputs `image_embeddings` [1, C, E, E], `point_coords` float32 [B, N, 2] (x, y in the resized frame),
                    `point_labels` float32 [B, N] (1 positive, 0 negative, -1 padding), `mask_input` [1, 1, 4E, 4E],
                    `has_mask_input` [1], `orig_im_size` float32 [2] = (h, w)
             outputs `masks` float32 [B, 4, h, w] (logits, upsampled to S, cropped to the resized size, resized to (h, w),
                    bilinear, align_corners False), `iou_predictions` [B, 4], `low_res_masks` [B, 4, 4E, 4E]

B (prompts per run) is a dynamic axis unless --fixed-batch (the official exporter's layout, B = 1); N is dynamic.

The decoder wrapper is written here from the contract; it uses the SAM modules' public parts: the prompt encoder's
`pe_layer.forward_with_coords`, `point_embeddings`, `not_a_point_embed`, `no_mask_embed`, `mask_downscaling`,
`get_dense_pe()` and the mask decoder's `predict_masks(...)`. Any model object with those attributes and
`image_encoder.img_size` exports the same way, which is how --random-init checks the wrapper without SAM: it builds
a tiny random-weight stand-in with the same attributes (TinySam below).

usage:
  pip install segment-anything  # plus a checkpoint, e.g. sam_vit_b_01ec64.pth / sam_vit_h_4b8939.pth
  python3 gcdss_export_sam.py --checkpoint sam_vit_h_4b8939.pth --model-type vit_h --out-dir sam-vit-h/
  python3 gcdss_export_sam.py --random-init --out-dir /tmp/sam-standin --reference /tmp/sam-ref.npz
      (stand-in; --reference saves inputs and PyTorch outputs for
       `node packages/gcdss/bench/export-check.mjs sam /tmp/sam-standin /tmp/sam-ref.npz`)
Writes OUT_DIR/sam_encoder.onnx and OUT_DIR/sam_decoder.onnx (ViT-H's encoder is ~2.5 GB: ONNX external data is
used automatically by torch for models over 2 GB). Runs on CPU (Debian python3-torch 1.13) or CUDA (--device cuda).
"""
import argparse
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class EncoderContract(nn.Module):
    """`image` [1, 3, S, S] (already normalised and padded) -> `image_embeddings`."""

    def __init__(self, sam):
        super().__init__()
        self.image_encoder = sam.image_encoder

    def forward(self, image):
        return self.image_encoder(image)


class DecoderContract(nn.Module):
    """Prompt encoder + mask decoder + mask upsampling behind the contract's six inputs and three outputs."""

    def __init__(self, sam):
        super().__init__()
        self.prompt_encoder = sam.prompt_encoder
        self.mask_decoder = sam.mask_decoder
        self.img_size = int(sam.image_encoder.img_size)

    def embed_points(self, coords, labels):
        # pixel centres, then the random-Fourier positional encoding of the prompt encoder
        pe = self.prompt_encoder.pe_layer.forward_with_coords(coords + 0.5, (self.img_size, self.img_size))
        lab = labels.unsqueeze(-1)
        pe = pe * (lab != -1).to(pe.dtype)
        pe = pe + self.prompt_encoder.not_a_point_embed.weight * (lab == -1).to(pe.dtype)
        for i in range(len(self.prompt_encoder.point_embeddings)):
            pe = pe + self.prompt_encoder.point_embeddings[i].weight * (lab == i).to(pe.dtype)
        return pe

    def embed_mask(self, mask_input, has_mask_input):
        down = self.prompt_encoder.mask_downscaling(mask_input)
        no_mask = self.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1)
        return has_mask_input * down + (1 - has_mask_input) * no_mask

    def forward(self, image_embeddings, point_coords, point_labels, mask_input, has_mask_input, orig_im_size):
        sparse = self.embed_points(point_coords, point_labels)
        dense = self.embed_mask(mask_input, has_mask_input)
        low_res, iou = self.mask_decoder.predict_masks(
            image_embeddings=image_embeddings,
            image_pe=self.prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
        )
        S = self.img_size
        up = F.interpolate(low_res, (S, S), mode='bilinear', align_corners=False)
        scale = S / torch.max(orig_im_size)
        resized = torch.floor(orig_im_size * scale + 0.5).to(torch.int64)
        up = up[..., : resized[0], : resized[1]]
        size = orig_im_size.to(torch.int64)
        masks = F.interpolate(up, (size[0], size[1]), mode='bilinear', align_corners=False)
        return masks, iou, low_res


# -------------------------------------------------------------------------------------------------------------------
# A tiny random-weight stand-in with SAM's attribute layout (for checking the wrappers and the export without SAM)


class TinyPE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.register_buffer('gaussian', torch.randn(2, c // 2))

    def encode(self, coords):  # coords in [0, 1]
        x = (2 * coords - 1) @ self.gaussian * (2 * np.pi)
        return torch.cat([torch.sin(x), torch.cos(x)], dim=-1)

    def forward_with_coords(self, coords, image_size):
        c = coords.clone()
        c[..., 0] = c[..., 0] / image_size[1]
        c[..., 1] = c[..., 1] / image_size[0]
        return self.encode(c)

    def grid(self, e):
        y = (torch.arange(e, dtype=torch.float32) + 0.5) / e
        yy, xx = torch.meshgrid(y, y, indexing='ij')
        return self.encode(torch.stack([xx, yy], dim=-1)).permute(2, 0, 1)  # [C, E, E]


class TinyPromptEncoder(nn.Module):
    def __init__(self, c, e):
        super().__init__()
        self.e = e
        self.pe_layer = TinyPE(c)
        self.point_embeddings = nn.ModuleList([nn.Embedding(1, c) for _ in range(4)])
        self.not_a_point_embed = nn.Embedding(1, c)
        self.no_mask_embed = nn.Embedding(1, c)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, 4, 2, 2), nn.GELU(), nn.Conv2d(4, 8, 2, 2), nn.GELU(), nn.Conv2d(8, c, 1)
        )

    def get_dense_pe(self):
        return self.pe_layer.grid(self.e).unsqueeze(0)


class TinyMaskDecoder(nn.Module):
    """One cross-attention of tokens to the image, a 4x upscaler and per-token hypernetwork heads."""

    def __init__(self, c):
        super().__init__()
        self.iou_token = nn.Embedding(1, c)
        self.mask_tokens = nn.Embedding(4, c)
        self.attn = nn.MultiheadAttention(c, 2, batch_first=True)
        self.up = nn.Sequential(nn.ConvTranspose2d(c, c // 4, 2, 2), nn.GELU(), nn.ConvTranspose2d(c // 4, c // 8, 2, 2))
        self.hyper = nn.ModuleList([nn.Linear(c, c // 8) for _ in range(4)])
        self.iou_head = nn.Sequential(nn.Linear(c, c), nn.ReLU(), nn.Linear(c, 4))

    def predict_masks(self, image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings):
        B = sparse_prompt_embeddings.shape[0]
        out = torch.cat([self.iou_token.weight, self.mask_tokens.weight], 0).unsqueeze(0).expand(B, -1, -1)
        tokens = torch.cat([out, sparse_prompt_embeddings], 1)
        src = image_embeddings.expand(B, -1, -1, -1) + dense_prompt_embeddings
        b, c, h, w = src.shape
        keys = (src + image_pe).flatten(2).transpose(1, 2)
        tokens = tokens + self.attn(tokens, keys, src.flatten(2).transpose(1, 2))[0]
        up = self.up(src)  # [B, c/8, 4h, 4w]
        hyper = torch.stack([self.hyper[i](tokens[:, 1 + i]) for i in range(4)], 1)  # [B, 4, c/8]
        masks = (hyper @ up.flatten(2)).view(B, 4, up.shape[2], up.shape[3])
        return masks, self.iou_head(tokens[:, 0])


class TinyImageEncoder(nn.Module):
    def __init__(self, s, c, e):
        super().__init__()
        self.img_size = s
        self.patch = nn.Conv2d(3, c, s // e, s // e)
        self.mix = nn.Sequential(nn.GELU(), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        y = self.patch(x)
        return y + self.mix(y)


class TinySam(nn.Module):
    def __init__(self, s=64, c=32, e=8):
        super().__init__()
        self.image_encoder = TinyImageEncoder(s, c, e)
        self.prompt_encoder = TinyPromptEncoder(c, e)
        self.mask_decoder = TinyMaskDecoder(c)


# -------------------------------------------------------------------------------------------------------------------


def load_sam(args):
    if args.random_init:
        torch.manual_seed(args.seed)
        return TinySam(args.standin_size, args.standin_channels, args.standin_embed)
    try:
        from segment_anything import sam_model_registry  # noqa: WPS433 (optional dependency)
    except ImportError:
        sys.exit('segment_anything is not installed: pip install segment-anything (or use --random-init)')
    if not args.checkpoint:
        sys.exit('--checkpoint is required (or use --random-init)')
    return sam_model_registry[args.model_type](checkpoint=args.checkpoint)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--checkpoint')
    p.add_argument('--model-type', default='vit_h', choices=['vit_h', 'vit_l', 'vit_b'])
    p.add_argument('--random-init', action='store_true', help='a tiny random-weight stand-in instead of SAM')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--standin-size', type=int, default=64, help='stand-in encoder input side S')
    p.add_argument('--standin-channels', type=int, default=32)
    p.add_argument('--standin-embed', type=int, default=8, help='stand-in embedding side E')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--fixed-batch', action='store_true', help='B fixed to 1 (the official exporter layout)')
    p.add_argument('--opset', type=int, default=17)
    p.add_argument('--device', default='cpu')
    p.add_argument('--reference', help='save an .npz with inputs and PyTorch outputs for the Node-side check')
    args = p.parse_args()
    torch.set_num_threads(1)
    sam = load_sam(args).to(args.device).eval()
    enc, dec = EncoderContract(sam).eval(), DecoderContract(sam).eval()
    S = int(sam.image_encoder.img_size)
    os.makedirs(args.out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(args.seed + 1)
    image = torch.randn(1, 3, S, S, generator=g).to(args.device)
    image[..., S * 3 // 4 :, :] = 0  # padded rows, as a non-square image gives
    with torch.no_grad():
        emb = enc(image)
    C, E = emb.shape[1], emb.shape[2]
    B = 1 if args.fixed_batch else 3
    coords = (torch.rand(B, 2, 2, generator=g) * S).to(args.device)
    coords[:, 1] = 0
    labels = torch.tensor([[1.0, -1.0]] * B, device=args.device)
    mask_input = torch.zeros(1, 1, 4 * E, 4 * E, device=args.device)
    has_mask = torch.zeros(1, device=args.device)
    orig = torch.tensor([S * 0.75 * 0.5 + 1, S * 0.5], device=args.device)  # an (h, w) with the right aspect
    orig = torch.floor(orig)
    feeds = (emb, coords, labels, mask_input, has_mask, orig)
    with torch.no_grad():
        masks, iou, low = dec(*feeds)
    enc_path = os.path.join(args.out_dir, 'sam_encoder.onnx')
    dec_path = os.path.join(args.out_dir, 'sam_decoder.onnx')
    torch.onnx.export(enc, (image,), enc_path, input_names=['image'], output_names=['image_embeddings'],
                      opset_version=args.opset, do_constant_folding=True)
    dyn = {'point_coords': {1: 'N'}, 'point_labels': {1: 'N'}, 'masks': {2: 'h', 3: 'w'}}
    if not args.fixed_batch:
        for k, v in (('point_coords', 0), ('point_labels', 0), ('masks', 0), ('iou_predictions', 0), ('low_res_masks', 0)):
            dyn.setdefault(k, {})[v] = 'B'
    torch.onnx.export(dec, feeds, dec_path,
                      input_names=['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input',
                                   'orig_im_size'],
                      output_names=['masks', 'iou_predictions', 'low_res_masks'],
                      dynamic_axes=dyn, opset_version=args.opset, do_constant_folding=True)
    print(f'wrote {enc_path} ({os.path.getsize(enc_path)} bytes) and {dec_path} ({os.path.getsize(dec_path)} bytes); '
          f'S={S}, C={C}, E={E}, B={"1" if args.fixed_batch else "dynamic"}')
    if args.reference:
        # a second prompt batch of another size and another crop size, to check the dynamic axes
        B2 = 1 if args.fixed_batch else 5
        coords2 = (torch.rand(B2, 2, 2, generator=g) * S * 0.6).to(args.device)
        coords2[:, 1] = 0
        labels2 = torch.tensor([[1.0, -1.0]] * B2, device=args.device)
        orig2 = torch.tensor([float(S // 2), float(S // 3)], device=args.device)
        with torch.no_grad():
            m2, i2, _ = dec(emb, coords2, labels2, mask_input, has_mask, orig2)
        np.savez(args.reference, image=image.cpu().numpy(), image_embeddings=emb.cpu().numpy(),
                 point_coords=coords.cpu().numpy(), point_labels=labels.cpu().numpy(),
                 mask_input=mask_input.cpu().numpy(), has_mask_input=has_mask.cpu().numpy(),
                 orig_im_size=orig.cpu().numpy(), masks=masks.cpu().numpy(), iou_predictions=iou.cpu().numpy(),
                 low_res_masks=low.cpu().numpy(), point_coords2=coords2.cpu().numpy(),
                 point_labels2=labels2.cpu().numpy(), orig_im_size2=orig2.cpu().numpy(), masks2=m2.cpu().numpy(),
                 iou_predictions2=i2.cpu().numpy())
        print(f'wrote {args.reference}')


if __name__ == '__main__':
    main()
