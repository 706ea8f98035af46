// The LaCLIP layer. See Documentation/Architecture.md for what lives here; later issues fill it in.
@_exported import LaTensor
