"""Native JAX implementations of the model families, written with Flax NNX (one module per family).

Why NNX (the API the Flax team recommends since Flax 0.11) rather than Linen: an NNX module is
plain Python state, its parameters live on the module as nnx.Variable attributes, so a model is
built eagerly from a seed (`nnx.Rngs(seed)`) like a torch module, and the torch -> JAX weight copy
is attribute assignment (common.load_arrays) instead of rebuilding a nested parameter dict.
Each module mirrors its family's torch model exactly (same layers, same function, weights that
copy by a transpose); images are NHWC, Flax's native layout (as in Keras).

Speed: NNX's graph traversal (split/merge of the module into a static graph definition and array
state) is Python work. The benchmark's step (fwbench.models.training_jax) splits the model once
and jits a pure function of the state (the functional split/merge pattern), so the traversal
happens only while tracing and never in the timed, compiled step.

Framework imports: the family modules (fwbench.models.cnn, ...) import these modules only inside
build_jax / copy_torch_to_jax, so importing fwbench.models never imports jax or flax.
"""
