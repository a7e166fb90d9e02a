"""Generators and discriminators of compare_gan's nine architecture families."""
