"""Evaluation of generated samples: the classifier networks behind FID, IS and KID.

`extractor.py` defines what a feature extractor is and runs one batchwise;
`inception.py` loads the Inception network of compare_gan's FID and IS;
`mnist_classifier.py` is a small offline MNIST classifier shipped in the
package, whose numbers are not comparable with Inception FID.
"""
