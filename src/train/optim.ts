// Placeholder: optimizers (SGD, AdamW) and gradient-norm clipping as kernels.
export {};
