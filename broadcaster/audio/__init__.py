"""The audio pipeline: mastering steps, the content-addressed store and the renderer."""

import warnings

with warnings.catch_warnings():
    # pydub looks for ffmpeg on PATH when imported and warns when there is none;
    # we never let it find one itself (the pipeline runs the wheel's ffmpeg).
    warnings.simplefilter("ignore", RuntimeWarning)
    import pydub  # noqa: F401
