"""torch_net.py: any netc network as a PyTorch module, for the benchmarks.

    import torch_net
    net = torch_net.build(yaml_text, seed)     # yaml_text: `netc --to yaml NET`

The module tree follows docs/language.md's rule, so state_dict names are netc's: a group is
a module whose children run in order, named by their names or their positions; a residual
adds its body's output to its input or to its 'shortcut' child's output; a branch runs on
the tensor current where it stands and leaves it current; a join adds or concatenates the
named siblings' outputs. Layers are torch.nn's, with in-sizes inferred by lazy modules (so
PyTorch initialises them with its own defaults from the seed, as netrun does with its).
"""
import torch
import torch.nn as nn

KINDS = {"conv2d", "linear", "batchnorm2d", "batchnorm1d", "maxpool2d", "avgpool2d",
         "adaptiveavgpool2d", "leakyrelu", "dropout", "dropout2d", "gelu", "softmax", "logsoftmax", "relu",
         "sigmoid", "tanh", "silu", "identity", "flatten", "relu6", "elu"}
ACT = {"relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "silu": nn.SiLU,
       "identity": nn.Identity, "flatten": nn.Flatten}


def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


def layer(kind, a):
    k = kind.lower()
    a = dict(a or {})
    # PyYAML reads YAML 1.1, where a float needs a dot: netc's 1e-05 arrives as a string
    for f in ("eps", "momentum", "negative_slope", "p", "alpha"):
        if isinstance(a.get(f), str) and a[f] != "none":
            a[f] = float(a[f])
    if k == "conv2d":
        pad = a.get("padding", 0)  # same or valid: PyTorch's words too
        return nn.LazyConv2d(a["out"], pair(a["kernel"]), pair(a.get("stride", 1)),
                             pad if isinstance(pad, str) else pair(pad), pair(a.get("dilation", 1)),
                             a.get("groups", 1), a.get("bias", True))
    if k == "linear":
        return nn.LazyLinear(a["out"], a.get("bias", True))
    if k in ("batchnorm2d", "batchnorm1d"):
        cls = nn.LazyBatchNorm2d if k == "batchnorm2d" else nn.LazyBatchNorm1d
        momentum = a.get("momentum", 0.1)  # `none` is PyTorch's None: the cumulative average
        return cls(a.get("eps", 1e-5), None if momentum == "none" else momentum, a.get("affine", True),
                   a.get("track_running_stats", True))
    if k == "maxpool2d":
        return nn.MaxPool2d(pair(a["kernel"]), pair(a.get("stride", a["kernel"])),
                            pair(a.get("padding", 0)), ceil_mode=a.get("ceil_mode", False))
    if k == "avgpool2d":
        return nn.AvgPool2d(pair(a["kernel"]), pair(a.get("stride", a["kernel"])),
                            pair(a.get("padding", 0)), ceil_mode=a.get("ceil_mode", False),
                            count_include_pad=a.get("count_include_pad", True))
    if k == "adaptiveavgpool2d":
        return nn.AdaptiveAvgPool2d(pair(a["output_size"]))
    if k == "leakyrelu":
        return nn.LeakyReLU(a.get("negative_slope", 0.01))
    if k == "elu":
        return nn.ELU(a.get("alpha", 1.0))
    if k == "dropout":
        return nn.Dropout(a.get("p", 0.5))
    if k == "dropout2d":
        return nn.Dropout2d(a.get("p", 0.5))
    if k == "gelu":
        return nn.GELU(approximate=a.get("approximate", "none"))
    if k == "softmax":
        return nn.Softmax(a.get("dim", 1))
    if k == "logsoftmax":
        return nn.LogSoftmax(a.get("dim", 1))
    if k in ACT:
        return ACT[k]()
    raise ValueError("torch_net.py: no PyTorch module for " + kind)


class Block(nn.Module):
    """A group, a branch's body or a residual's body: items run in order."""

    def __init__(self, items):
        super().__init__()
        self.roles = []  # (name, role, extra)
        pos = 0
        for it in items:
            name, role, mod, extra = parse_item(it)
            if role == "shortcut":
                key = "shortcut"
            else:
                key = name if name else str(pos)
                pos += 1
            if mod is not None:
                self.add_module(key, mod)
            self.roles.append((key, role, extra, name))

    def forward(self, x, run_shortcut=False):
        cur, outs = x, {}
        for key, role, extra, name in self.roles:
            if role == "shortcut":
                continue
            if role == "branch":
                outs[name] = self._modules[key](cur)
            elif role == "join":
                ts = [outs[n] for n in extra[1]]
                cur = torch.cat(ts, 1) if extra[0] == "concat" else sum(ts[1:], ts[0])
            else:
                cur = self._modules[key](cur)
            if name and role != "branch":
                outs[name] = cur
        return cur


class Residual(Block):
    def forward(self, x):
        y = super().forward(x)
        return y + (self._modules["shortcut"](x) if "shortcut" in self._modules else x)


def parse_item(it):
    """One YAML layer-list item -> (name, role, module, extra)."""
    if isinstance(it, str):
        return None, "layer", layer(it, None), None
    (key, val), = it.items()
    if key.lower() in KINDS:  # Kind: {attrs} or Kind: value
        return None, "layer", layer(key, val if isinstance(val, dict) else None), None
    if key == "join":
        return None, "join", None, (val[0], val[1:])
    # unnamed forms first: their key is the form, not a group's name (a list too)
    if key == "residual":
        return None, "residual", Residual(val or []), None
    if key == "branch":
        return None, "branch", Block(val or []), None
    if key == "sequential":  # an unnamed group (--expand, --to yaml): named by position
        return None, "group", Block(val or []), None
    if isinstance(val, list):  # a group, or a residual's shortcut
        role = "shortcut" if key == "shortcut" else "group"
        return key, role, Block(val), None
    if isinstance(val, dict) and len(val) == 1:
        (k2, v2), = val.items()
        if k2 == "residual":
            return key, "residual", Residual(v2 or []), None
        if k2 == "branch":
            return key, "branch", Block(v2 or []), None
        if k2 == "join":
            return key, "join", None, (v2[0], v2[1:])
        if k2.lower() in KINDS:  # name: {Kind: {...}}
            return key, "layer", layer(k2, v2 if isinstance(v2, dict) else {}), None
    if isinstance(val, str):  # name: Kind
        return key, "layer", layer(val, None), None
    raise ValueError("torch_net.py: cannot read the item %r" % (it,))


def build(yaml_text, seed):
    import yaml
    spec = yaml.safe_load(yaml_text)
    torch.manual_seed(seed)
    net = Block(spec["layers"])
    net.eval()
    with torch.no_grad():  # materialise the lazy modules at the input's shape
        net(torch.zeros(2, *spec["input"]))
    return net, tuple(spec["input"])
