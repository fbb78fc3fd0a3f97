// Placeholder: filled in by the op family's author (see docs/kernels.md).
export {};
