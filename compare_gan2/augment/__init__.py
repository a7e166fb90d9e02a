"""Differentiable augmentations of every image D sees: DiffAugment and ADA.

`base.get(name)` / `base.names()` is the registry (name -> class); importing
the package registers every augmentation in it and lists it in the GAN
catalog, which compare_gan2.configurables registers with gin:
`gans.ModularGAN.augment = @augment.DiffAugment()` or `@augment.ADA()`, on any
GAN class. Each augmentation is a GAN component (compare_gan2.gans.components).
"""

from compare_gan2.augment import ada
from compare_gan2.augment import base
from compare_gan2.augment import diffaugment

ADA = ada.ADA
Augmentation = base.Augmentation
DiffAugment = diffaugment.DiffAugment
get = base.get
names = base.names
