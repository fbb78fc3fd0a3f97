#!/usr/bin/python3
"""The PyTorch peer of `npm run bench:models` (bench/lib/peer-torch.ts drives it).

The same networks as src/nn/edgeface.ts (EdgeFace-XXS, timm's edgenext_xx_small + 512-D head) and
src/nn/dsr.ts (DSR, configs DSR_CPU / DSR_PAPER), written in PyTorch with the same parameter names,
layer order, activations (exact erf GELU), LayerNorm eps (1e-6), paddings and resizes, loaded with
OUR weights (a safetensors file the benchmark writes), and their training steps (forward + backward +
torch.optim.AdamW(lr 1e-3, weight_decay 0.01)) with the benchmark's losses.

Run with Debian's interpreter (/usr/bin/python3: python3-torch, python3-onnx); needs only torch and
numpy (safetensors files are read and written here with json + numpy).

Modes:
  serve   JSON lines on stdin -> one JSON line per request on stdout (see Server). The benchmark keeps
          one such process for the whole run and asks it to run launches when it is torch's turn, so
          torch never runs while another implementation is being timed.
  rss     A fresh process: build the training step of one model at one batch, run it `--steps` times,
          print the peak RSS (VmHWM, see high_water_kib) after importing torch, after building the
          model, optimizer and inputs, and after the steps. The process does nothing else, so its
          peak is the training step's (with the model, optimizer state, inputs and the runtime).
"""
import json
import math
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

THREADS = 2
LR = 1e-3
WEIGHT_DECAY = 0.01


# ---- safetensors (F32 only; what the benchmark writes) ------------------------------------------

def read_safetensors(path):
    """{name: float32 ndarray} from a safetensors file (F32 tensors only)."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n].decode('utf-8'))
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise ValueError(f'{path}: tensor {name} has dtype {info["dtype"]}, only F32 is supported')
        b, e = info['data_offsets']
        shape = info['shape']
        count = int(np.prod(shape)) if shape else 1
        if e - b != 4 * count:
            raise ValueError(f'{path}: tensor {name} {shape} has {e - b} bytes, expected {4 * count}')
        out[name] = np.frombuffer(data[b:e], dtype='<f4').reshape(shape).copy()
    return out


def write_safetensors(path, tensors):
    """Writes {name: ndarray} as F32 safetensors (names sorted, header padded to 8 bytes)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype='<f4')
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header, separators=(',', ':')).encode('utf-8')
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for blob in blobs:
            f.write(blob)


# ---- EdgeFace-XXS (src/nn/edgeface.ts) -----------------------------------------------------------

class LayerNorm2d(nn.LayerNorm):
    """timm LayerNorm2d: LayerNorm over channels at every pixel of an NCHW tensor."""

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact (erf) form, as ours
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class ConvBlock(nn.Module):
    def __init__(self, dim, kernel, cfg):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=cfg['eps'])
        self.mlp = Mlp(dim, cfg['expandRatio'] * dim)
        self.gamma = nn.Parameter(torch.full((dim,), cfg['lsInitValue']))

    def forward(self, x):
        y = self.conv_dw(x).permute(0, 2, 3, 1)
        y = self.mlp(self.norm(y)) * self.gamma
        return x + y.permute(0, 3, 1, 2)


def fourier_features(H, W, hidden, temperature):
    """[H*W, 2*hidden] as edgeface.ts fourierFeatures (float64, then float32)."""
    scale, eps = 2 * math.pi, 1e-6
    i = np.arange(hidden)
    dim_t = np.power(float(temperature), (2 * (i // 2)) / hidden)
    ye = ((np.arange(H) + 1) / (H + eps)) * scale
    xe = ((np.arange(W) + 1) / (W + eps)) * scale
    py = ye[:, None] / dim_t[None, :]  # [H, hidden]
    px = xe[:, None] / dim_t[None, :]  # [W, hidden]
    py = np.where(i % 2 == 0, np.sin(py), np.cos(py))
    px = np.where(i % 2 == 0, np.sin(px), np.cos(px))
    out = np.concatenate([np.repeat(py[:, None, :], W, axis=1), np.repeat(px[None, :, :], H, axis=0)], axis=2)
    return out.reshape(H * W, 2 * hidden).astype(np.float32)


class PositionalEncodingFourier(nn.Module):
    def __init__(self, dim, hidden, temperature):
        super().__init__()
        self.hidden, self.temperature, self.dim = hidden, temperature, dim
        self.token_projection = nn.Conv2d(2 * hidden, dim, 1)

    def forward(self, H, W):
        f = torch.from_numpy(fourier_features(H, W, self.hidden, self.temperature))
        return F.linear(f, self.token_projection.weight.reshape(self.dim, 2 * self.hidden), self.token_projection.bias)


class CrossCovarianceAttn(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        _, N, C = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(-1, N, 3, h, C // h).permute(2, 0, 3, 4, 1)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = F.normalize(q, dim=-1, eps=1e-12)
        k = F.normalize(k, dim=-1, eps=1e-12)
        attn = ((q @ k.transpose(-2, -1)) * self.temperature).softmax(-1)
        return self.proj((attn @ v).permute(0, 3, 1, 2).reshape(-1, N, C))


class SplitTransposeBlock(nn.Module):
    def __init__(self, dim, scales, heads, use_pos, cfg):
        super().__init__()
        width = max(math.ceil(dim / scales), dim // scales)
        n_convs = max(1, scales - 1)
        self.width, self.n_chunks = width, n_convs + 1
        self.convs = nn.ModuleList([nn.Conv2d(width, width, 3, padding=1, groups=width) for _ in range(n_convs)])
        self.pos_embd = PositionalEncodingFourier(dim, cfg['posHiddenDim'], cfg['posTemperature']) if use_pos else None
        self.norm_xca = nn.LayerNorm(dim, eps=cfg['eps'])
        self.gamma_xca = nn.Parameter(torch.full((dim,), cfg['lsInitValue']))
        self.xca = CrossCovarianceAttn(dim, heads)
        self.norm = nn.LayerNorm(dim, eps=cfg['eps'])
        self.mlp = Mlp(dim, cfg['expandRatio'] * dim)
        self.gamma = nn.Parameter(torch.full((dim,), cfg['lsInitValue']))

    def forward(self, x):
        _, C, H, W = x.shape
        spx = torch.chunk(x, self.n_chunks, dim=1)
        if len(spx) != self.n_chunks or spx[0].shape[1] != self.width:
            raise ValueError(f'SplitTransposeBlock: {list(x.shape)} does not split into {self.n_chunks} chunks of width {self.width}')
        spo, sp = [], spx[0]
        for i, conv in enumerate(self.convs):
            if i > 0:
                sp = sp + spx[i]
            sp = conv(sp)
            spo.append(sp)
        spo.append(spx[-1])
        t = torch.cat(spo, 1).permute(0, 2, 3, 1).reshape(-1, H * W, C)
        if self.pos_embd is not None:
            t = t + self.pos_embd(H, W)
        t = t + self.xca(self.norm_xca(t)) * self.gamma_xca
        t = self.mlp(self.norm(t)) * self.gamma
        return x + t.reshape(-1, H, W, C).permute(0, 3, 1, 2)


class EdgeNeXtStage(nn.Module):
    def __init__(self, in_chs, out_chs, i, cfg):
        super().__init__()
        self.downsample = None if i == 0 else nn.Sequential(LayerNorm2d(in_chs, eps=cfg['eps']), nn.Conv2d(in_chs, out_chs, 2, stride=2))
        depth = cfg['depths'][i]
        self.blocks = nn.ModuleList([
            ConvBlock(out_chs, cfg['kernelSizes'][i], cfg) if j < depth - cfg['globalBlockCounts'][i]
            else SplitTransposeBlock(out_chs, cfg['d2Scales'][i], cfg['heads'][i], cfg['usePosEmb'][i], cfg)
            for j in range(depth)
        ])

    def forward(self, x):
        if self.downsample is not None:
            x = self.downsample(x)
        for b in self.blocks:
            x = b(x)
        return x


class Head(nn.Module):
    def __init__(self, features, out, cfg):
        super().__init__()
        self.norm = LayerNorm2d(features, eps=cfg['eps'])
        self.fc = nn.Linear(features, out)

    def forward(self, x):
        return self.fc(self.norm(x.mean((2, 3), keepdim=True)).flatten(1))


class EdgeFace(nn.Module):
    """EdgeNeXt with the config of edgeface.ts (EdgeNeXtConfig, passed as JSON)."""

    def __init__(self, cfg):
        super().__init__()
        d = cfg['dims']
        self.stem = nn.Sequential(nn.Conv2d(cfg['inChans'], d[0], 4, stride=4), LayerNorm2d(d[0], eps=cfg['eps']))
        stages, in_chs = [], d[0]
        for i in range(len(cfg['depths'])):
            stages.append(EdgeNeXtStage(in_chs, d[i], i, cfg))
            in_chs = d[i]
        self.stages = nn.ModuleList(stages)
        self.head = Head(in_chs, cfg['embeddingSize'], cfg)

    def forward(self, x):
        x = self.stem(x)
        for s in self.stages:
            x = s(x)
        return self.head(x)


# ---- DSR (src/nn/dsr.ts) -------------------------------------------------------------------------

def resize_matrix(lin, lout, antialias):
    """[lout, lin] weights of torch's 1-D bicubic resize (align_corners=False; antialias as asked),
    read off F.interpolate applied to the unit vectors, so the resize is two matmuls (exportable to
    ONNX at opset <= 17, which has no antialiased Resize)."""
    eye = torch.eye(lin, dtype=torch.float64).reshape(lin, 1, lin, 1)
    m = F.interpolate(eye, size=(lout, 1), mode='bicubic', align_corners=False, antialias=antialias)
    m = m.reshape(lin, lout).t().contiguous()
    # The unit-width axis must have been the identity: check on a random image against F.interpolate.
    x = torch.rand(1, 1, lin, lin, dtype=torch.float64)
    ref = F.interpolate(x, size=(lout, lout), mode='bicubic', align_corners=False, antialias=antialias)
    if not torch.allclose(m @ x @ m.t(), ref, atol=1e-9):
        raise RuntimeError(f'resize_matrix({lin}, {lout}, {antialias}) does not reproduce F.interpolate')
    return m.float()


class ResBlock(nn.Module):
    def __init__(self, C, res_scale):
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(F.relu(self.conv1(x))) * self.res_scale


class DSR(nn.Module):
    """DSR for a probe of exactly config.inputSize, fit 'resize-output' (DSR_CPU, DSR_PAPER)."""

    def __init__(self, cfg):
        super().__init__()
        if cfg['fit'] != 'resize-output' or cfg.get('probeSizes'):
            raise ValueError(f"DSR peer: only fit 'resize-output' without probeSizes is implemented, got {cfg}")
        S, O, C = cfg['inputSize'], cfg['outputSize'], cfg['channels']
        stages = max(0, round(math.log2(O / S)))
        self.net_out = S * 2 ** stages
        self.out_size, self.bicubic_skip = O, cfg['bicubicSkip']
        self.head = nn.Conv2d(3, C, 3, padding=1)
        self.body = nn.ModuleList([ResBlock(C, cfg['resScale']) for _ in range(cfg['blocks'])])
        self.body_end = nn.Conv2d(C, C, 3, padding=1)
        self.up = nn.ModuleList([nn.Conv2d(C, 4 * C, 3, padding=1) for _ in range(stages)])
        self.tail = nn.Conv2d(C, 3, 3, padding=1)
        # Resizes as matrices (buffers, not parameters): tail output -> O (antialiased when shrinking),
        # and the bicubic skip S -> O (plain bicubic).
        self.fit = self.net_out != O
        self.register_buffer('fit_m', resize_matrix(self.net_out, O, O < self.net_out) if self.fit else torch.zeros(0), persistent=False)
        self.register_buffer('skip_m', resize_matrix(S, O, False), persistent=False)

    def forward(self, lr):
        h0 = self.head(lr - 0.5)
        f = h0
        for b in self.body:
            f = b(f)
        f = self.body_end(f) + h0
        for u in self.up:
            f = F.pixel_shuffle(u(f), 2)
        y = self.tail(f)
        if self.fit:
            y = self.fit_m @ y @ self.fit_m.t()
        if self.bicubic_skip:
            return y + self.skip_m @ lr @ self.skip_m.t()
        return y + 0.5


# ---- cases ---------------------------------------------------------------------------------------

def build(spec):
    """The model of a spec ({kind, config, weights, inputs, params}) with the benchmark's weights."""
    model = EdgeFace(spec['config']) if spec['kind'] == 'edgeface' else DSR(spec['config']) if spec['kind'] == 'dsr' else None
    if model is None:
        raise ValueError(f'unknown model kind {spec["kind"]!r}')
    w = read_safetensors(spec['weights'])
    ours = set(w)
    mine = {k for k, _ in model.named_parameters()}
    if ours != mine:
        raise ValueError(f'parameter names differ: only ours {sorted(ours - mine)[:5]}, only torch {sorted(mine - ours)[:5]}')
    state = {k: torch.from_numpy(v) for k, v in w.items()}
    for k, p in model.named_parameters():
        if tuple(p.shape) != tuple(state[k].shape):
            raise ValueError(f'parameter {k}: ours {list(state[k].shape)}, torch {list(p.shape)}')
    model.load_state_dict(state, strict=False)  # non-persistent buffers (resize matrices) are not in the file
    return model


def loss_fn(spec, model, x, aux):
    """The benchmark's training losses: EdgeFace sum(emb · R), DSR mean |SR − T|."""
    if spec['kind'] == 'edgeface':
        return (model(x) * aux).sum()
    return (model(x) - aux).abs().mean()


class Case:
    """One model loaded from a spec; runs built per (mode, batch)."""

    def __init__(self, spec):
        self.spec = spec
        self.inputs = {k: torch.from_numpy(v) for k, v in read_safetensors(spec['inputs']).items()}
        self.model = build(spec).eval()
        self.runs = {}

    def aux(self, n):
        a = self.inputs.get('aux')
        return None if a is None else a[:n]

    def make(self, mode, batch):
        x = self.inputs['x'][:batch].contiguous()
        if mode == 'forward':
            model = self.model

            def step():
                with torch.inference_mode():
                    return model(x)
            return step
        if mode != 'train':
            raise ValueError(f'unknown mode {mode!r}')
        # A fresh copy: the optimizer steps it, the forward runs keep the benchmark's weights.
        model = build(self.spec).train()
        aux = self.aux(batch).contiguous()
        opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)

        def step():
            opt.zero_grad(set_to_none=False)
            loss = loss_fn(self.spec, model, x, aux)
            loss.backward()
            opt.step()
            return loss
        return step

    def check(self, mode, out_path):
        """Batch-1 outputs: forward -> {"0": y}; train -> {"0": loss, "1".. : grads in spec['params'] order}."""
        x = self.inputs['x'][:1].contiguous()
        if mode == 'forward':
            with torch.inference_mode():
                outs = [self.model(x)]
        else:
            model = build(self.spec).train()
            loss = loss_fn(self.spec, model, x, self.aux(1).contiguous())
            loss.backward()
            named = dict(model.named_parameters())
            outs = [loss.detach().reshape(1)] + [named[k].grad for k in self.spec['params']]
        write_safetensors(out_path, {str(i): t.detach().numpy() for i, t in enumerate(outs)})

    def export_onnx(self, path, opset):
        """Forward graph with a dynamic batch axis; input "x", output "y"."""
        x = self.inputs['x'][:1].contiguous()
        with torch.no_grad():
            torch.onnx.export(self.model, (x,), path, input_names=['x'], output_names=['y'],
                              dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}}, opset_version=opset,
                              do_constant_folding=True)


class Server:
    """JSON lines: {"cmd": ...} -> {"ok": true, ...} or {"ok": false, "error": "..."}.

    hello                      -> versions and threads
    load {id, spec}            -> builds the model (spec: kind, config, weights, inputs, params)
    check {id, mode, out}      -> writes batch-1 outputs to `out` (safetensors)
    prepare {id, mode, batch}  -> builds that run (untimed)
    run {id, mode, batch, k}   -> k launches back to back; ms = their wall time here
    onnx {id, path, opset}     -> exports the forward graph
    release {id}               -> drops the model and its runs
    """

    def __init__(self):
        self.cases = {}

    def handle(self, req):
        cmd = req.get('cmd')
        if cmd == 'hello':
            try:
                import onnx
                onnx_version = onnx.__version__
            except ImportError:
                onnx_version = None
            return {'torch': torch.__version__, 'numpy': np.__version__, 'onnx': onnx_version,
                    'threads': torch.get_num_threads(), 'interop_threads': torch.get_num_interop_threads()}
        if cmd == 'load':
            self.cases[req['id']] = Case(req['spec'])
            return {}
        case = self.cases.get(req.get('id'))
        if case is None:
            raise ValueError(f'no model loaded under id {req.get("id")!r}')
        if cmd == 'check':
            case.check(req['mode'], req['out'])
            return {}
        if cmd == 'prepare':
            case.runs[(req['mode'], req['batch'])] = case.make(req['mode'], req['batch'])
            return {}
        if cmd == 'run':
            step = case.runs.get((req['mode'], req['batch']))
            if step is None:
                raise ValueError(f'run {req["mode"]} b{req["batch"]} of {req["id"]} not prepared')
            t0 = time.perf_counter()
            for _ in range(int(req['k'])):
                step()
            return {'ms': (time.perf_counter() - t0) * 1000}
        if cmd == 'onnx':
            case.export_onnx(req['path'], int(req.get('opset', 17)))
            return {}
        if cmd == 'release':
            del self.cases[req['id']]
            return {}
        raise ValueError(f'unknown command {cmd!r}')

    def serve(self):
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                out = {'ok': True, **self.handle(json.loads(line))}
            except Exception as e:  # reported to the benchmark, which marks this peer's case as an error
                out = {'ok': False, 'error': f'{type(e).__name__}: {e}'.splitlines()[0][:300]}
            sys.stdout.write(json.dumps(out) + '\n')
            sys.stdout.flush()


def high_water_kib():
    """Peak RSS of this process image in KiB: VmHWM from /proc/self/status (Linux).

    Not ru_maxrss: Linux carries ru_maxrss across execve (it keeps the high-water mark of the forked
    copy of the parent's memory from before the exec), so a python process spawned by Node starts
    near Node's figure. Measured 2026-12-03, EdgeFace-XXS, 2 training steps at batch 32, spawned by
    a Node process of 643 MiB RSS: ru_maxrss 604 MiB, VmHWM 478 MiB (257 MiB before the steps,
    228 MiB after importing torch). VmHWM belongs to the new memory image and starts afresh at
    exec. ru_maxrss is the fallback where /proc is missing (the JSON reports it too).
    """
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def rss_main(spec_path, batch, steps):
    runtime = high_water_kib()  # python, numpy, torch imported; nothing built yet
    with open(spec_path) as f:
        spec = json.load(f)
    case = Case(spec)
    step = case.make('train', batch)
    setup = high_water_kib()
    for _ in range(steps):
        step()
    peak = high_water_kib()
    print(json.dumps({'hwm_runtime_kib': runtime, 'hwm_setup_kib': setup, 'hwm_peak_kib': peak,
                      'ru_maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 'batch': batch, 'steps': steps}))


def main(argv):
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    if len(argv) >= 1 and argv[0] == 'serve':
        Server().serve()
    elif len(argv) >= 2 and argv[0] == 'rss':
        batch = int(argv[argv.index('--batch') + 1]) if '--batch' in argv else 32
        steps = int(argv[argv.index('--steps') + 1]) if '--steps' in argv else 3
        rss_main(argv[1], batch, steps)
    else:
        sys.stderr.write('usage: torch_models.py serve | rss SPEC.json [--batch 32] [--steps 3]\n')
        sys.exit(2)


if __name__ == '__main__':
    main(sys.argv[1:])
