"""In-memory batching: seeded shuffling, per-rank sharding, normalisation and on-tensor augmentation."""

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from condnet.data.datasets import Split


def validation_split(train: Split, val_size: int, seed: int) -> tuple[Split, Split]:
    """Carve a seeded validation split of ``val_size`` images out of the training split."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(train), generator=generator)
    return train.subset(order[val_size:].sort().values), train.subset(order[:val_size].sort().values)


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad every image by ``padding`` and crop it back at a random offset of its own."""
    n, c, h, w = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image horizontally with probability 1/2."""
    flip = torch.rand(len(images), generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


@dataclass
class Batcher:
    """Yields normalised float batches (and labels) from a :class:`Split`.

    Training batches are shuffled with a generator seeded by (seed, epoch), so an epoch's order does
    not depend on what ran before it (resume-safe); with ``world_size > 1`` each rank gets its own
    equal-sized shard of that order.
    """

    split: Split
    batch_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    shuffle: bool = False
    crop_padding: int = 0
    flip: bool = False
    seed: int = 0
    rank: int = 0
    world_size: int = 1

    def __post_init__(self) -> None:
        self._mean = torch.tensor(self.mean).view(1, -1, 1, 1) * 255.0
        self._std = torch.tensor(self.std).view(1, -1, 1, 1) * 255.0

    def normalise(self, images: torch.Tensor) -> torch.Tensor:
        return (images.float() - self._mean) / self._std

    def indices(self, epoch: int) -> torch.Tensor:
        n = len(self.split)
        if self.shuffle:
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch))
        else:
            order = torch.arange(n)
        if self.world_size > 1:
            per_rank = n // self.world_size if self.shuffle else -(-n // self.world_size)
            order = order[self.rank::self.world_size][:per_rank]
        return order

    def num_batches(self) -> int:
        n = len(self.indices(0))
        full, rest = divmod(n, self.batch_size)
        return full + (1 if rest > 1 or (rest == 1 and not self.shuffle) else 0)

    def epoch(self, epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of one epoch. A trailing training batch of one image is dropped (BatchNorm needs
        two)."""
        order = self.indices(epoch)
        augment_gen = torch.Generator().manual_seed(self.seed * 100_003 + epoch + 7_919 * (self.rank + 1))
        for start in range(0, len(order), self.batch_size):
            index = order[start:start + self.batch_size]
            if self.shuffle and len(index) < 2:
                break
            images = self.split.images[index]
            if self.crop_padding:
                images = random_crop(images, self.crop_padding, augment_gen)
            if self.flip:
                images = random_flip(images, augment_gen)
            yield self.normalise(images), self.split.labels[index]
