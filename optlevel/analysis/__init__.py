"""Static and per-call analysis: source/AST, function features, argument signatures."""

from .features import FunctionFeatures, analyze
from .signature import ArgInfo, ArgSignature, describe_args, signature_key
from .source import SourceInfo, get_source

__all__ = ["FunctionFeatures", "analyze", "ArgInfo", "ArgSignature", "describe_args",
           "signature_key", "SourceInfo", "get_source"]
