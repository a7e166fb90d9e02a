"""Self-supervised tasks of a GAN's discriminator, as GAN components.

- `Rotation` (SS-GAN, Chen et al. 2019, arXiv 1811.11212): bind
  `gans.ModularGAN.self_supervision = @self_supervision.Rotation()`.
- `MultiClassMinimax` (MS-GAN, Tran et al. 2019, arXiv 1911.06997):
  `@self_supervision.MultiClassMinimax()`.
- `rotations`: the rotation ops and the cross-entropy they share with the
  labeller pre-training (compare_gan2.pretraining).

`gans.SSGAN` and `gans.MSGAN` are ModularGANs with one of these bound.
"""

from compare_gan2.self_supervision.multi_class import FAKE_CLASS
from compare_gan2.self_supervision.multi_class import MultiClassMinimax
from compare_gan2.self_supervision.rotation import Rotation
from compare_gan2.self_supervision.rotations import EPSILON
from compare_gan2.self_supervision.rotations import HEAD_NAME
from compare_gan2.self_supervision.rotations import NUM_ROTATIONS
from compare_gan2.self_supervision.rotations import accuracy
from compare_gan2.self_supervision.rotations import cross_entropy
from compare_gan2.self_supervision.rotations import feature_width
from compare_gan2.self_supervision.rotations import flat_features
from compare_gan2.self_supervision.rotations import make_head
from compare_gan2.self_supervision.rotations import rotate_images
from compare_gan2.self_supervision.rotations import rotation_batch

__all__ = ["EPSILON", "FAKE_CLASS", "HEAD_NAME", "NUM_ROTATIONS", "MultiClassMinimax", "Rotation",
           "accuracy", "cross_entropy", "feature_width", "flat_features", "make_head",
           "rotate_images", "rotation_batch"]
