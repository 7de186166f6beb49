#!/usr/bin/python3
"""The PyTorch module tree nets/resnet20.net mirrors, to count its parameters and list its
state_dict against netc's (Debian's python3-torch; the tests do not need it):
    /usr/bin/python3 bench/resnet20_torch.py            # count, then "key shape" lines
    /usr/bin/python3 bench/resnet20_torch.py > tests/golden/fixtures/resnet20_torch_keys.txt
netc's residual is a module whose output is its body's plus its shortcut's (or its input);
the template `basic` is nn.Sequential(residual, ReLU); a repeat is nn.Sequential of copies."""
import torch.nn as nn
class Residual(nn.Module):  # netc's residual: body(x) + (shortcut or identity)(x)
    def __init__(self, planes, inp, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)) if stride != 1 else None
    def forward(self, x):
        y = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return y + (self.shortcut(x) if self.shortcut is not None else x)
def basic(inp, planes, stride=1):  # the template: Sequential(residual, ReLU)
    return nn.Sequential(Residual(planes, inp, stride), nn.ReLU())
class ResNet20(nn.Module):
    def __init__(self, w=16, blocks=3):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w, 3, 1, 1, bias=False); self.bn1 = nn.BatchNorm2d(w); self.relu = nn.ReLU()
        self.layer1 = nn.Sequential(*[basic(w, w) for i in range(blocks)])
        self.layer2 = nn.Sequential(*[basic(w if i == 0 else 2*w, 2*w, 2 if i == 0 else 1) for i in range(blocks)])
        self.layer3 = nn.Sequential(*[basic(2*w if i == 0 else 4*w, 4*w, 2 if i == 0 else 1) for i in range(blocks)])
        self.avgpool = nn.AdaptiveAvgPool2d(1); self.flatten = nn.Flatten(); self.fc = nn.Linear(4*w, 10)
m = ResNet20()
print("params", sum(p.numel() for p in m.parameters()))
for k, v in m.state_dict().items():
    print(k, "x".join(str(d) for d in v.shape))
