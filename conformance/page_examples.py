"""The two examples of FastEstimator's ``update_model`` page, verbatim (DOC-1 runs them)."""
from __future__ import annotations

TF_EXAMPLE = '''
m = fe.build(fe.architecture.tensorflow.LeNet, optimizer_fn="adam")
x = tf.ones((3, 28, 28, 1))  # (batch, height, width, channels)
y = tf.constant((1, 0, 1))
with tf.GradientTape(persistent=True) as tape:
    pred = fe.backend.feed_forward(m, x)  # [[~0.5, ~0.5], [~0.5, ~0.5], [~0.5, ~0.5]]
    loss = fe.backend.sparse_categorical_crossentropy(y_pred=pred, y_true=y)  # ~2.3
    gradients = fe.backend.get_gradient(target=loss, sources=m.trainable_variables, tape=tape)
    fe.backend.update_model(m, gradients=gradients)
'''

TORCH_EXAMPLE = '''
m = fe.build(fe.architecture.pytorch.LeNet, optimizer_fn="adam")
x = torch.ones((3, 1, 28, 28))  # (batch, channels, height, width)
y = torch.tensor((1, 0, 1))
pred = fe.backend.feed_forward(m, x)  # [[~0.5, ~0.5], [~0.5, ~0.5], [~0.5, ~0.5]]
loss = fe.backend.sparse_categorical_crossentropy(y_pred=pred, y_true=y)  # ~2.3
gradients = fe.backend.get_gradient(target=loss,
                                    sources=[x for x in m.parameters() if x.requires_grad])

fe.backend.update_model(m, gradients=gradients)
'''

EXAMPLES = {"tf": TF_EXAMPLE, "torch": TORCH_EXAMPLE}
