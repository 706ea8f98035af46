// LaData hands out `Tensor` batches, so importing LaData imports LaTensor too.
@_exported import LaTensor
