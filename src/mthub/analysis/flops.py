"""GMACs of a model forward pass, counted on the meta device with ``torch.utils.flop_counter``.

Convention (stated next to every figure): **1 MAC = 1 multiply-add; the papers' "GFLOPs" are
MACs** (= PyTorch FLOPs / 2). Counted: convolutions, matrix products (linear/matmul/einsum) and
attention; not counted: norms, activations, softmax, pooling, elementwise ops, interpolation,
``grid_sample`` (see :mod:`mthub.analysis.units`).

How it works: the forward runs inside ``FlopCounterMode`` (which intercepts every ATen operator,
decomposes composite ones and applies a formula per operator) with every formula replaced by a
recording wrapper (:mod:`mthub.analysis.formulas`). The wrapper attributes each count to the
innermost module being executed (global forward hooks) and to a category
(``convolution``/``matmul``/``attention``). ``F.scaled_dot_product_attention`` is counted once at
the function level so that attention is reported as ``attention`` whichever kernel runs (fused on
CPU/CUDA, the math fallback's ``bmm`` on meta); so is ``F.multi_head_attention_forward``. A
second dispatch mode underneath records the operators that executed without a formula.

By default the model and inputs are mirrored on the meta device (no weight or activation memory,
a ViT-B forward in ~0.2 s on CPU). Forwards that need tensor values (``.item()``, ``nonzero``,
boolean masks) cannot run on meta: pass ``device=None`` with small real inputs instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch._prims_common import suggest_memory_format
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from .formulas import FUNCTION_FORMULAS, MacFormula, builtin_formulas, is_negligible
from .meta import is_on_meta, meta_copy, to_meta
from .params import ROOT, module_key
from .units import CONVENTION, CONVENTION_DETAIL, format_macs

__all__ = ["MacCount", "MetaDeviceError", "count_macs"]

aten = torch.ops.aten


class MetaDeviceError(RuntimeError):
    """The forward pass cannot run on meta tensors (it needs tensor values or mixes devices)."""


def _gmacs_at_depth(macs_by_path: Mapping[str, int], depth: int | None) -> dict[str, float]:
    totals: dict[str, int] = {}
    for path, macs in macs_by_path.items():
        key = module_key(path, depth)
        totals[key] = totals.get(key, 0) + macs
    return {k: v / 1e9 for k, v in totals.items()}


@dataclass(frozen=True)
class MacCount:
    """MACs of one forward pass (1 MAC = 1 multiply-add; the papers' "GFLOPs" are MACs).

    Attributes:
        total_macs: exact integer MAC count.
        by_module: GMACs per module at ``module_depth`` dotted components (a partition: values
            sum to ``total_gmacs``; ops run directly by the model are under ``"(root)"``).
        by_operator: GMACs per category: ``convolution``, ``matmul`` (linear, matmul, einsum) and
            ``attention`` (``QKᵀ`` and ``AV`` of SDPA / fused multi-head attention).
        by_op: GMACs per counted ATen operator (e.g. ``aten.addmm``) or torch function counted as
            a whole (``F.scaled_dot_product_attention``, ``F.multi_head_attention_forward``).
        unsupported_ops: operators that ran, do arithmetic and have no formula (not counted),
            e.g. ``aten.upsample_bilinear2d``, ``aten.grid_sampler_2d``.
        ignored_ops: operators that ran and cost no MACs by convention (views, norms, softmax, …).
        module_depth: the depth of ``by_module`` (``None``: innermost module).
        macs_by_path: exact MACs per innermost module path (``""`` = the model itself); the data
            behind :meth:`at_depth`.
    """

    total_macs: int
    by_module: dict[str, float]
    by_operator: dict[str, float]
    by_op: dict[str, float]
    unsupported_ops: set[str]
    ignored_ops: set[str]
    module_depth: int | None
    macs_by_path: dict[str, int] = field(repr=False)

    @property
    def total_gmacs(self) -> float:
        """Total in GMACs (1 MAC = 1 multiply-add; the papers' "GFLOPs")."""
        return self.total_macs / 1e9

    @property
    def convention(self) -> str:
        return CONVENTION

    def at_depth(self, depth: int | None) -> dict[str, float]:
        """GMACs per module truncated to ``depth`` dotted components (a partition of the total)."""
        return _gmacs_at_depth(self.macs_by_path, depth)

    def __str__(self) -> str:
        lines = [f"total: {format_macs(self.total_gmacs)}", f"  {CONVENTION_DETAIL}"]
        width = max((len(k) for k in self.by_module), default=0)
        lines += [f"  {k:<{width}}  {v:10.4f} GMACs" for k, v in self.by_module.items()]
        lines.append("  by operator: " + ", ".join(f"{k} {v:.4f}" for k, v in self.by_operator.items()))
        if self.unsupported_ops:
            lines.append("  not counted (no formula): " + ", ".join(sorted(self.unsupported_ops)))
        return "\n".join(lines)


class _Recorder:
    """Accumulates MACs per innermost module path, category and ATen operator."""

    def __init__(self, names: Mapping[int, str]) -> None:
        self.names = names  # id(module) -> dotted path in the counted model
        self.stack: list[str] = []
        self.suppress = 0  # > 0 inside a function already counted as a whole (SDPA, MHA)
        self.by_path: dict[str, int] = {}
        self.by_category: dict[str, int] = {}
        self.by_op: dict[str, int] = {}

    @property
    def current(self) -> str:
        return self.stack[-1] if self.stack else ""

    def record(self, op_name: str, macs: Mapping[str, int]) -> int:
        """Book ``macs`` and return the FLOPs (2 × MACs) that FlopCounterMode should see."""
        if self.suppress:
            return 0
        total = 0
        for category, n in macs.items():
            if n:
                self.by_category[category] = self.by_category.get(category, 0) + n
                total += n
        if total:
            self.by_path[self.current] = self.by_path.get(self.current, 0) + total
            self.by_op[op_name] = self.by_op.get(op_name, 0) + total
        return 2 * total

    @contextlib.contextmanager
    def tracking_modules(self) -> Iterator[None]:
        """Maintain ``self.stack`` with global forward hooks (modules outside the model are skipped,
        so their ops are attributed to the enclosing known module)."""

        def push(module: nn.Module, args: Any) -> None:
            name = self.names.get(id(module))
            if name is not None:
                self.stack.append(name)

        def pop(module: nn.Module, args: Any, output: Any) -> None:
            name = self.names.get(id(module))
            if name is not None and self.stack and self.stack[-1] == name:
                self.stack.pop()

        pre = register_module_forward_pre_hook(push)
        post = register_module_forward_hook(pop, always_call=True)
        try:
            yield
        finally:
            pre.remove()
            post.remove()


class _FunctionMode(TorchFunctionMode):
    """Counts the functions of :data:`~mthub.analysis.formulas.FUNCTION_FORMULAS` (SDPA,
    multi-head attention) as a whole and suppresses the counts of the kernels they run, so that
    meta (math fallback: ``bmm``) and real devices (fused kernels) give the same breakdown.

    Side effect (harmless for counting): while a torch-function mode is active,
    ``nn.MultiheadAttention``/``nn.TransformerEncoderLayer`` skip their fused inference fast paths.
    """

    def __init__(self, recorder: _Recorder) -> None:
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        entry = FUNCTION_FORMULAS.get(func)
        if entry is None:
            return func(*args, **kwargs)
        name, formula = entry
        self.recorder.record(name, formula(args, kwargs))
        self.recorder.suppress += 1
        try:
            return func(*args, **kwargs)
        finally:
            self.recorder.suppress -= 1


# Operators whose meta kernel is a slow Python decomposition (upsample_bilinear2d: ~half of a
# dense-prediction model's meta forward) although the output is fully given by ``output_size``.
_UPSAMPLE_OPS = frozenset(
    getattr(aten, name).default
    for name in (
        "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d", "upsample_linear1d",
        "upsample_bilinear2d", "upsample_bicubic2d", "upsample_trilinear3d",
    )
)  # fmt: skip


def _meta_upsample(func: Any, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The output of an ``upsample_*.default(input, output_size, ...)`` call on a meta input,
    allocated directly (same shape, dtype and memory format as the meta kernel's); else None."""
    if func not in _UPSAMPLE_OPS:
        return None
    x = args[0] if args else kwargs["self"]
    size = args[1] if len(args) > 1 else kwargs["output_size"]
    if not (isinstance(x, torch.Tensor) and x.is_meta):
        return None
    fmt = suggest_memory_format(x)
    return torch.empty((*x.shape[:2], *size), dtype=x.dtype, device="meta", memory_format=fmt)


class _OpLog(TorchDispatchMode):
    """Sits below FlopCounterMode and sees the operators that actually execute (after its
    decompositions); records those without a formula and where a meta forward failed."""

    def __init__(self, recorder: _Recorder, counted: Mapping[Any, Any]) -> None:
        super().__init__()
        self.recorder = recorder
        self.counted = counted
        self.unsupported: set[str] = set()
        self.ignored: set[str] = set()
        self.failure: tuple[str, str] | None = None  # (op, module path) of the first failure

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        packet = func._overloadpacket
        if packet not in self.counted:
            name = str(packet)
            (self.ignored if is_negligible(func) else self.unsupported).add(name)
        try:
            kwargs = kwargs or {}
            fast = _meta_upsample(func, args, kwargs)
            return fast if fast is not None else func(*args, **kwargs)
        except Exception:
            if self.failure is None:
                self.failure = (str(func), self.recorder.current)
            raise


def _recording_mapping(recorder: _Recorder, formulas: Mapping[Any, MacFormula]) -> dict[Any, Any]:
    """FlopCounterMode ``custom_mapping`` that routes every formula through ``recorder``."""

    def wrap(op: Any, formula: MacFormula) -> Any:
        name = str(op)

        def counted(*args: Any, out_val: Any = None, **kwargs: Any) -> int:
            return recorder.record(name, formula(args, kwargs, out_val))

        counted._get_raw = True  # FlopCounterMode passes tensors, not shapes
        return counted

    return {op: wrap(op, f) for op, f in formulas.items()}


def _split_inputs(inputs: Any) -> tuple[tuple, dict]:
    if isinstance(inputs, Mapping):
        return (), dict(inputs)
    if isinstance(inputs, tuple | list):
        return tuple(inputs), {}
    return (inputs,), {}


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode and restore each one's own flag afterwards."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


def count_macs(
    model: nn.Module,
    inputs: Any,
    *,
    device: str | torch.device | None = "meta",
    module_depth: int | None = 2,
    extra_formulas: Mapping[Any, MacFormula] | None = None,
) -> MacCount:
    """Count the MACs of ``model(*inputs)`` / ``model(**inputs)`` in eval mode without gradients.

    1 MAC = 1 multiply-add; the papers' "GFLOPs" are MACs (= PyTorch FLOPs / 2). Conv, matmul and
    attention are counted; norms, activations, pooling and interpolation are not (operators that
    compute without a formula are listed in ``unsupported_ops``).

    Args:
        model: the model; it is never modified (on meta a weight-free copy is counted, otherwise
            the per-module train/eval flags are restored afterwards).
        inputs: a tuple of positional inputs, a dict of keyword inputs, or a single tensor. Shapes
            are what matters: e.g. ``(torch.empty(1, 3, 16, 224, 224, device="meta"),)``.
        device: ``"meta"`` (default): count on meta tensors (model mirrored with
            :func:`~mthub.analysis.meta.meta_copy` unless already on meta; inputs converted) — full-
            size presets cost no memory. ``None``: run on the model's and inputs' own tensors
            (needed for forwards that read tensor values; use small inputs). Any other device:
            inputs are moved there; the model must already be there.
        module_depth: dotted components kept in ``by_module`` (``None``: innermost modules).
        extra_formulas: more ``{op_packet: formula(args, kwargs, out) -> {category: MACs}}`` (e.g.
            to count ``aten.grid_sampler_2d``); they override the built-in ones.

    Raises:
        MetaDeviceError: on meta, when the forward needs tensor values; names the operator and
            the module where it failed.
    """
    args, kwargs = _split_inputs(inputs)
    on_meta = device is not None and torch.device(device).type == "meta"
    if on_meta:
        run_model = model if is_on_meta(model) else meta_copy(model)
        args, kwargs = to_meta((args, kwargs))
    else:
        run_model = model
        if device is not None:
            target = torch.device(device)
            tensors = [*model.named_parameters(), *model.named_buffers()]
            wrong = [name for name, t in tensors if t.device.type != target.type]
            if wrong:
                raise ValueError(
                    f"count_macs(device={str(target)!r}): the model's '{wrong[0]}' is on another device"
                )
            args, kwargs = torch.utils._pytree.tree_map(
                lambda x: x.to(target) if isinstance(x, torch.Tensor) else x, (args, kwargs)
            )

    formulas = builtin_formulas()
    formulas.update(extra_formulas or {})
    recorder = _Recorder({id(m): name for name, m in run_model.named_modules()})
    log = _OpLog(recorder, formulas)
    counter = FlopCounterMode(display=False, custom_mapping=_recording_mapping(recorder, formulas))
    # On meta, tensors the forward creates without a device (torch.zeros(n), arange) are meta too.
    default_device = torch.device("meta") if on_meta else contextlib.nullcontext()
    try:
        with default_device, _eval_mode(run_model), torch.no_grad(), recorder.tracking_modules():
            # Dispatch modes stack: the one entered last sees an op first, so FlopCounterMode
            # (entered after the log) counts and decomposes, then the log sees what executes.
            with log, counter, _FunctionMode(recorder):
                run_model(*args, **kwargs)
    except (RuntimeError, NotImplementedError) as err:
        if not on_meta or "meta" not in str(err).lower():
            raise  # a genuine error of the model (shape mismatch, bad argument): not meta's fault
        op, where = log.failure or ("?", recorder.current)
        raise MetaDeviceError(
            f"counting MACs of {type(model).__name__} on the meta device failed at {op} in module "
            f"'{where or ROOT}' ({type(err).__name__}: {err}). A forward that needs tensor values "
            "(.item(), nonzero, boolean masks) or mixes in tensors kept on a real device cannot run "
            "on meta; call count_macs(..., device=None) with small real inputs instead."
        ) from err

    def giga(d: Mapping[str, int]) -> dict[str, float]:
        return {k: v / 1e9 for k, v in d.items()}

    return MacCount(
        total_macs=sum(recorder.by_path.values()),
        by_module=_gmacs_at_depth(recorder.by_path, module_depth),
        by_operator=giga(recorder.by_category),
        by_op=giga(recorder.by_op),
        unsupported_ops=log.unsupported,
        ignored_ops=log.ignored,
        module_depth=module_depth,
        macs_by_path=dict(recorder.by_path),
    )
