"""Train a small MLP classifier in PyTorch with Lion, exported as a standalone module.

The optimizer module beside this script was written by

    optsearch export lion --to pytorch -o examples/exported_lion_pytorch.py

and needs only torch: ``Lion`` is a ``torch.optim.Optimizer`` (param groups, state_dict, lr
schedulers).

Run: python examples/train_pytorch.py [--steps N]
"""

import argparse

import torch
from exported_lion_pytorch import Lion


def main(steps: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(512, 10)
    labels = (x[:, :3].sum(dim=1) > 0).long() + (x[:, 3] > 1).long()  # three classes
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.ReLU(), torch.nn.Linear(32, 3))
    loss_fn = torch.nn.CrossEntropyLoss()

    # lr is the schedule's value (1.0 = the program as found) and the scheduler changes it;
    # lr_scale is the program's own step size (1e-4 as found, for large models): a toy MLP
    # takes a larger one.
    opt = Lion(model.parameters(), lr=1.0, lr_scale=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)

    with torch.no_grad():
        first = loss_fn(model(x), labels).item()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), labels)
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        final = loss_fn(model(x), labels).item()
    print(f"loss {first:.4f} -> {final:.4f} after {steps} steps")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    main(parser.parse_args().steps)
