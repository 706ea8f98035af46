// LaNN's API is written in terms of LaTensor's `Tensor`, so importing LaNN imports LaTensor too.
@_exported import LaTensor
