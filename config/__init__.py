"""Settings from the environment: below every other package, so models, services and workers can all read them."""
