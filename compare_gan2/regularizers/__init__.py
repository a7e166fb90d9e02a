"""Discriminator and generator regularizers, each a GAN component (gans/components.py).

| gin name              | paper (arXiv)          | adds                                 | defaults             |
|-----------------------|------------------------|--------------------------------------|----------------------|
| `regularizers.CR`     | Zhang 2020, 1910.12027 | D: λ E‖D(x) − D(T(x))‖²              | λ 10                 |
| `regularizers.BCR`    | Zhao 2021, 2002.04724  | D: CR on reals and on fakes          | λ_real = λ_fake = 10 |
| `regularizers.ZCR`    | Zhao 2021, 2002.04724  | D: λ_dis E‖D(G(z)) − D(G(z+Δz))‖²,   | σ 0.05, λ_dis 20,    |
|                       |                        | G: −λ_gen E‖G(z) − G(z+Δz)‖²         | λ_gen 0.5            |
| `regularizers.LeCam`  | Tseng 2021, 2104.03310 | D: λ R_LC, EMA anchors (state)       | λ 0.3, decay 0.99,   |
|                       |                        |                                      | start_step 1000      |
| `regularizers.TopK`   | Sinha 2020, 2002.06224 | G's loss over the k best-scored fakes| γ 0.99, ν 0.5        |

Any GAN class takes them, in gin:

    gans.ModularGAN.regularizers = [@regularizers.CR(), @regularizers.LeCam()]
    regularizers.LeCam.start_step = 500

Each module gives its method's sources and where PyTorch-StudioGAN differs.
Each logs its terms (before their weights) under the names of its
`metric_names()`, which reach TensorBoard and the console with the GAN's
losses. Every random draw is stateless, from the component's seed of the
update, per global example, so 1 and N replicas train alike.
`registered()` lists every class, for tests to cover them all.
"""

from compare_gan2.regularizers.base import registered
from compare_gan2.regularizers.bcr import BCR
from compare_gan2.regularizers.cr import CR
from compare_gan2.regularizers.cr import flip_and_translate
from compare_gan2.regularizers.lecam import LeCam
from compare_gan2.regularizers.topk import TopK
from compare_gan2.regularizers.zcr import ZCR

__all__ = ["BCR", "CR", "LeCam", "TopK", "ZCR", "flip_and_translate", "registered"]
