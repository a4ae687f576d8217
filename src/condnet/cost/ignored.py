"""The ops not counted by convention (docs/cost.md): they run, cost no MACs, and are not reported.

Names are given without their namespace: ``relu`` stands for ``torch.relu``, ``torch.Tensor.relu``,
``torch.nn.functional.relu`` and the in-place ``relu_``. Besides these, reading a tensor attribute
(``x.shape``, ``x.device``) and Python operators and protocols on tensors other than ``@`` (``x + y``,
``x[i]``, ``len(x)``) are not counted. Every other op without a MAC rule is reported as unsupported.
"""

from functools import cache

_POOLS = [f"{kind}{d}d" for d in (1, 2, 3)
          for kind in ("max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool", "lp_pool")]

IGNORED_OPS: dict[str, frozenset[str]] = {category: frozenset(names) for category, names in {
    "normalization": "batch_norm layer_norm group_norm instance_norm local_response_norm normalize rms_norm"
                     .split(),
    "activations": """relu relu6 hardtanh sigmoid tanh gelu silu mish elu selu celu leaky_relu prelu rrelu
                      hardswish hardsigmoid softplus softsign logsigmoid tanhshrink softshrink hardshrink
                      threshold glu softmax log_softmax softmin""".split(),
    "pooling": [*_POOLS, *(f"{p}_with_indices" for p in _POOLS if "max" in p), "fractional_max_pool2d",
                "fractional_max_pool3d"],
    "dropout": "dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout".split(),
    "element-wise": """add sub subtract mul multiply div divide true_divide floor_divide remainder fmod neg
                       negative abs exp exp2 expm1 log log2 log10 log1p sqrt rsqrt pow square reciprocal
                       sign sgn clamp clamp_min clamp_max clip minimum maximum fmax fmin where lerp addcmul
                       addcdiv sin cos tan erf floor ceil round trunc frac nan_to_num eq ne lt le gt ge
                       isclose equal allclose isfinite isnan isinf logical_and logical_or logical_not
                       logical_xor bitwise_and bitwise_or bitwise_not bitwise_xor masked_fill""".split(),
    "reductions and sorting": """sum nansum mean nanmean max min amax amin aminmax argmax argmin prod std
                                 var std_mean var_mean norm logsumexp cumsum cumprod cummax cummin topk
                                 kthvalue median mode sort argsort msort all any count_nonzero bincount
                                 histc unique unique_consecutive""".split(),
    "shapes, indexing, copies and creation": """view view_as reshape reshape_as flatten unflatten ravel
        permute transpose swapaxes movedim t squeeze unsqueeze expand expand_as broadcast_to
        broadcast_tensors repeat repeat_interleave tile contiguous cat concat concatenate stack hstack
        vstack split split_with_sizes tensor_split chunk unbind narrow select index_select gather scatter
        scatter_add scatter_reduce index_add index_copy index_fill index_put masked_select masked_scatter
        take take_along_dim nonzero flip roll tril triu diagonal pad unfold pixel_shuffle pixel_unshuffle
        channel_shuffle one_hot embedding to type type_as float double half bfloat16 int long bool byte
        cpu cuda clone detach copy zero fill requires_grad dim size numel stride is_contiguous
        is_floating_point item tolist element_size data_ptr storage_offset get_device zeros ones empty
        full arange range linspace eye rand randn randint randperm bernoulli multinomial normal zeros_like
        ones_like empty_like full_like rand_like randn_like randint_like tensor as_tensor new_zeros
        new_ones new_empty new_full new_tensor""".split(),
}.items()}

_NAMES = frozenset().union(*IGNORED_OPS.values())
_NAMESPACES = ("torch.nn.functional.", "torch.Tensor.", "torch.")


@cache
def is_ignored(name: str) -> bool:
    """Whether op ``name`` (as :func:`condnet.cost.rules.op_name` gives it) is not counted by convention."""
    namespace = next((ns for ns in _NAMESPACES if name.startswith(ns)), None)
    if namespace is None:
        return False
    base = name[len(namespace):]
    if base.endswith(".__get__") or (base.startswith("__") and "matmul" not in base):
        return True  # attribute reads; operators and protocols (x + y, x[i], len(x)) other than @
    return base in _NAMES or base.removesuffix("_") in _NAMES
