// `import LaCLIP` brings the whole stack: tensors, autodiff and layers, and data.
@_exported import LaTensor
@_exported import LaNN
@_exported import LaData
