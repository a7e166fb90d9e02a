"""Sample-quality metrics on TF-GAN and NumPy (compare_gan `metrics/`).

Every metric is a small class with a `name` and a call that returns a dict of
floats. Two kinds (base.py):

- `SampleMetric(fake, real)`: compares two `EvalSet`s (images, classifier
  features, logits); FID, KID, IS, PRD, improved precision/recall,
  density/coverage, MS-SSIM, fractal dimension.
- `ModelMetric(model, real)`: needs the generator itself (`ModelAccess`);
  GILBO, Jacobian conditioning, discriminator and classifier accuracy.

Metrics never see a GAN object, only arrays and callables, so they run on any
generator (a checkpoint, an export, a PyTorch port's samples).
"""
