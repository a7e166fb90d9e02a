"""GAN models: ModularGAN and its self-/semi-supervised variants."""
