"""CIGT losses: the information gain of a router (paper B) and the classification loss of the leaves."""

import torch
import torch.nn.functional as F

EPSILON = 1e-12
CLS_LOSSES = ("per_leaf", "mean")


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of a distribution given as a tensor of probabilities summing to 1."""
    return -(probs * torch.log(probs + EPSILON)).sum()


def information_gain(route_probs: torch.Tensor, labels: torch.Tensor, num_classes: int,
                     balance: float = 1.0) -> torch.Tensor:
    """IG = balance * H(n) + H(c) - H(c, n) of one router over a batch (natural log).

    ``route_probs`` [N, K]: p(n | x_i), rows summing to 1; ``labels`` [N]. The joint is the batch average
    p(c, n) = 1/N sum_i onehot(y_i)[c] p(n | x_i); ``balance`` = 1 gives the mutual information I(n; c),
    larger values reward balanced use of the routes. The gradient flows only through ``route_probs``.
    """
    onehot = F.one_hot(labels, num_classes).to(route_probs.dtype)
    joint = onehot.t() @ route_probs / len(route_probs)  # [C, K]
    return balance * entropy(joint.sum(0)) + entropy(joint.sum(1)) - entropy(joint)


def classification_loss(logits: torch.Tensor, targets: torch.Tensor, leaves: torch.Tensor, num_leaves: int,
                        mode: str = "per_leaf", label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy of the leaf each sample reached.

    ``per_leaf`` (the authors' code): the mean over the samples of each leaf, summed over the non-empty
    leaves. ``mean``: the mean over the batch, which under hard routing is also the paper's
    mixture-of-experts form -log sum_paths P(path|x) p_path(y|x), since P is 1 on the path taken.
    """
    if mode == "mean":
        return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
    losses = [F.cross_entropy(logits[leaves == k], targets[leaves == k], label_smoothing=label_smoothing)
              for k in range(num_leaves) if bool((leaves == k).any())]
    return torch.stack(losses).sum()
