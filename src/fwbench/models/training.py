"""Framework steps shared by the parity tests and the harness.

Plain eager functions; the harness wraps them per mode (torch.compile of the model, tf.function
with or without jit_compile of `tf_train_step`/`tf_infer_step`). Both frameworks use the same
optimizer (SGD, lr 0.01, momentum 0.9, no Nesterov, no weight decay: the two update rules are
algebraically identical, unlike Adam whose epsilon sits in a different place in Keras) and the
same loss (mean sparse softmax cross-entropy over every label position).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fwbench.models.base import IMAGES, LABELS, keras_module, model_inputs

LEARNING_RATE = 0.01
MOMENTUM = 0.9


def _tf_device(device: str) -> str:
    return {"cpu": "/CPU:0", "cuda": "/GPU:0"}[device]


def to_torch(batch_np: dict[str, np.ndarray], device: str, channels_last: bool = False) -> dict[str, Any]:
    """Tensors on `device` ("cpu" or "cuda"); NHWC images become NCHW tensors, contiguous, or with
    `channels_last` in torch.channels_last memory format (NHWC bytes: the input the `channels_last`
    variant's model expects, so its first convolution does not convert the layout)."""
    import torch

    out: dict[str, Any] = {}
    for key, value in batch_np.items():
        if key == IMAGES:
            # A permuted view of the NHWC array is already channels_last; the contiguous() calls
            # make the layout explicit (and are no-ops when it is already right).
            nchw = torch.from_numpy(np.ascontiguousarray(value)).permute(0, 3, 1, 2)
            layout = torch.channels_last if channels_last else torch.contiguous_format
            out[key] = nchw.contiguous(memory_format=layout).to(device)
            continue
        out[key] = torch.from_numpy(np.ascontiguousarray(value)).to(device)
    return out


def to_tf(batch_np: dict[str, np.ndarray], device: str) -> dict[str, Any]:
    """Tensors placed on `device` ("cpu" or "cuda")."""
    import tensorflow as tf

    with tf.device(_tf_device(device)):
        return {key: tf.identity(tf.convert_to_tensor(value)) for key, value in batch_np.items()}


def torch_loss(logits: Any, labels: Any) -> Any:
    import torch.nn.functional as F

    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))


def tf_loss(logits: Any, labels: Any) -> Any:
    import tensorflow as tf

    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))


def torch_optimizer(model: Any) -> Any:
    """SGD over the trainable parameters (frozen ones, e.g. the LSTM's zero b_hh, are left out)."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=LEARNING_RATE, momentum=MOMENTUM)


def tf_optimizer(model: Any = None) -> Any:
    """Keras SGD matching torch_optimizer; built on `model`'s variables when given, so the
    optimizer's slots exist before the step is traced by tf.function."""
    keras = keras_module()
    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM)
    if model is not None:
        optimizer.build(model.trainable_variables)
    return optimizer


def torch_train_step(model: Any, optimizer: Any, batch: dict[str, Any]) -> Any:
    """Forward, loss, backward, optimizer step; returns the loss tensor (not synchronised)."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = torch_loss(model(**model_inputs(batch)), batch[LABELS])
    loss.backward()
    optimizer.step()
    return loss


def tf_train_step(model: Any, optimizer: Any, batch: dict[str, Any]) -> Any:
    """GradientTape forward and loss, gradients, optimizer.apply; returns the loss tensor."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = tf_loss(model(model_inputs(batch), training=True), batch[LABELS])
    variables = model.trainable_variables
    optimizer.apply(tape.gradient(loss, variables), variables)
    return loss


def torch_infer_step(model: Any, batch: dict[str, Any]) -> Any:
    """Eval-mode forward under inference_mode; returns the logits."""
    import torch

    model.eval()
    with torch.inference_mode():
        return model(**model_inputs(batch))


def tf_infer_step(model: Any, batch: dict[str, Any]) -> Any:
    """Forward with training=False; returns the logits."""
    return model(model_inputs(batch), training=False)


def count_params_torch(model: Any) -> int:
    """Trainable parameters (requires_grad)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def count_params_tf(model: Any) -> int:
    """Trainable variables' element count."""
    return int(sum(int(np.prod(v.shape)) for v in model.trainable_variables))
