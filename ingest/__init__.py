"""The bronze -> silver -> gold pipeline. May import Reffy's core, never its adapters."""
