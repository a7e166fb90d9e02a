"""Keras layers and tensor ops with compare_gan's semantics."""
