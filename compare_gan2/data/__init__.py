"""Datasets: compare_gan's TFDS catalogue, custom data, bundled MNIST, the input pipeline.

Pick a dataset with one gin builder (module compare_gan2.data) and turn it
into batches with `train_input` / `eval_input`:

    dataset = data.bundled_mnist(resolution=32)           # offline default
    batches = data.train_input(dataset, strategy, global_batch_size=64,
                               start_step=step, seed=547)

| builder | data | module |
|---|---|---|
| `data.bundled_mnist` | MNIST test set shipped in the package, 9,000 / 1,000 | bundled.py |
| `data.<compare_gan name>` (see `NAMES`) | TFDS: MNIST ... ImageNet, S3GAN variants | named.py, imagenet.py |
| `data.image_folder` | a folder of images, optional class subfolders | custom.py |
| `data.npz` | .npz arrays of images and optional labels | custom.py |
| `data.tfrecord` | TFRecord files of encoded images, optional labels | records.py |
| `data.LabelOptions` | label subsets (k% per class) and soft labels | labels.py |
| `data.single_label`, `data.random_label`, `data.cluster_labels` | any dataset relabelled: one class, uniform random classes, k-means clusters (S3GAN baselines) | relabel.py |
| `data.train_input`, `data.eval_input` | the deterministic, resumable pipeline | pipeline.py |

Element format and the `DatasetInfo` fields: base.py. Order as a pure
function of (seed, step), replicas and resuming: pipeline.py.
"""

from compare_gan2.data.base import Dataset  # noqa: F401
from compare_gan2.data.base import DataError  # noqa: F401
from compare_gan2.data.base import DatasetInfo  # noqa: F401
from compare_gan2.data.bundled import bundled_mnist
from compare_gan2.data.custom import image_folder  # noqa: F401
from compare_gan2.data.custom import npz  # noqa: F401
from compare_gan2.data.imagenet import imagenet_64
from compare_gan2.data.imagenet import imagenet_128
from compare_gan2.data.imagenet import imagenet_256
from compare_gan2.data.imagenet import imagenet_512
from compare_gan2.data.imagenet import imagenet_512_hq400
from compare_gan2.data.imagenet import labeled_only_imagenet_128
from compare_gan2.data.imagenet import random_class_imagenet_128
from compare_gan2.data.imagenet import single_class_imagenet_128
from compare_gan2.data.imagenet import soft_labeled_imagenet_128
from compare_gan2.data.labels import LabelOptions  # noqa: F401
from compare_gan2.data.named import celeb_a
from compare_gan2.data.named import cifar10
from compare_gan2.data.named import fashion_mnist
from compare_gan2.data.named import lsun_bedroom
from compare_gan2.data.named import mnist
from compare_gan2.data.pipeline import eval_input  # noqa: F401
from compare_gan2.data.pipeline import train_dataset  # noqa: F401
from compare_gan2.data.pipeline import train_input  # noqa: F401
from compare_gan2.data.records import tfrecord  # noqa: F401
from compare_gan2.data.relabel import cluster_labels  # noqa: F401
from compare_gan2.data.relabel import random_label  # noqa: F401
from compare_gan2.data.relabel import single_label  # noqa: F401

# Every `dataset.name` compare_gan accepts (`datasets.py:620-640`), paired with
# its builder; the gin name is the dataset name with '-' as '_'.
NAMED = (
    ("mnist", mnist),
    ("fashion-mnist", fashion_mnist),
    ("cifar10", cifar10),
    ("celeb_a", celeb_a),
    ("lsun-bedroom", lsun_bedroom),
    ("imagenet_64", imagenet_64),
    ("imagenet_128", imagenet_128),
    ("imagenet_256", imagenet_256),
    ("imagenet_512", imagenet_512),
    ("imagenet_512_hq400", imagenet_512_hq400),
    ("soft_labeled_imagenet_128", soft_labeled_imagenet_128),
    ("single_class_imagenet_128", single_class_imagenet_128),
    ("random_class_imagenet_128", random_class_imagenet_128),
    ("labeled_only_imagenet_128", labeled_only_imagenet_128),
)
NAMES = tuple(name for name, _ in NAMED)
BUILDERS = (bundled_mnist,) + tuple(builder for _, builder in NAMED)
