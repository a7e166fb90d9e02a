"""Discriminator and generator regularizers as components a GAN composes.

| name  | paper (arXiv)          | adds                                      | defaults             |
|-------|------------------------|-------------------------------------------|----------------------|
| CR    | Zhang 2020, 1910.12027 | D: λ E‖D(x) − D(T(x))‖²                   | λ 10                 |
| BCR   | Zhao 2021, 2002.04724  | D: CR on reals and on fakes               | λ_real = λ_fake = 10 |
| ZCR   | Zhao 2021, 2002.04724  | D: λ_dis E‖D(G(z)) − D(G(z+Δz))‖²,        | σ 0.05, λ_dis 20,    |
|       |                        | G: −λ_gen E‖G(z) − G(z+Δz)‖²              | λ_gen 0.5            |
| LeCam | Tseng 2021, 2104.03310 | D: λ R_LC, EMA anchors (state)            | λ 0.3, decay 0.99,   |
|       |                        |                                           | start_step 1000      |
| TopK  | Sinha 2020, 2002.06224 | G's loss over the k best-scored fakes     | γ 0.99, ν 0.5        |

The modules give each method's sources and where PyTorch-StudioGAN differs.

How a GAN uses them (a few lines per update). For every regularizer `r`:

    context = Context(real, fake, d_real_logits, d_fake_logits, z,
                      discriminate, generate, seed, step)
    # D update, inside D's GradientTape:
    d_loss += sum(r.d_terms(context).values())
    # G update, inside G's GradientTape:
    fake_logits = r.generator_logits(fake_logits, step)   # TopK: [k, 1]
    g_loss = loss_fn(fake_logits, fake_logits).g_loss    # G losses read fakes only
    g_loss += sum(r.g_terms(context).values())
    # logging: the terms' dicts and r.metrics()

Every value is a per-replica loss the GAN scales by 1/replicas like its own
(means over this replica's examples, or the global value for TopK); seeds are
distinct per update (e.g. folded from the step and the update index). The
regularizers are tf.Modules: list them in the training checkpoint (LeCam's
anchors, TopK's last k). Construct them inside the strategy's scope. LeCam's
d_terms also steps its anchors: call it once per D update, with `step` the G
updates done so far (the authors' `itr`, the same for a train step's D updates).

REGULARIZERS maps each class name to its class, for configurables.py to
register with gin as `regularizers.<name>` (plain classes: gin at the edge).
"""

from compare_gan2.regularizers.base import Context
from compare_gan2.regularizers.base import REGULARIZERS
from compare_gan2.regularizers.base import Regularizer
from compare_gan2.regularizers.consistency import BCR
from compare_gan2.regularizers.consistency import CR
from compare_gan2.regularizers.consistency import ZCR
from compare_gan2.regularizers.consistency import flip_and_translate
from compare_gan2.regularizers.lecam import LeCam
from compare_gan2.regularizers.topk import TopK

__all__ = ["BCR", "CR", "Context", "LeCam", "REGULARIZERS", "Regularizer", "TopK", "ZCR",
           "flip_and_translate"]
