"""Command-line tools of compare_gan2 (installed as the `compare_gan2_tools` package)."""
