"""SCALES-SR models: binary super-resolution networks with SCALES scalings (training side).

Modules, one job each:
  binarize   sign with the ApproxSign gradient, weight binarizer
  layers     the SCALES binary 3x3 convolution and its switchable components
  edsr       SCALES-EDSR, its FP twin and the plain-BNN baseline
  bicubic    MATLAB-compatible bicubic resize (the only way LR inputs are made)
  imageio    PNG in/out, RGB <-> Y
  metrics    PSNR/SSIM on Y (standard SR protocol); CLI scoring a folder
  eval       run a model on benchmark sets; CLI
  data       training patches from the 291 HR images
  train      training loop; CLI
  safetensors  minimal safetensors reader/writer (no PyPI package on Debian 12)
  export     model file (bit-packed), TorchScript oracle, golden tensors; CLI
"""
