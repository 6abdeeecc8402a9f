"""Optimizers Keras 3 lacks: `LazyAdam`, Adam that updates only the rows a gradient touches.

Embedding tables and sampled-softmax output layers get sparse gradients (`tf.IndexedSlices`):
a batch touches a few hundred of their rows. Keras's `Adam` turns such a gradient dense and
updates every row's moments and value at every step, which on a CPU costs as much as a sizeable
part of the forward and backward pass (memory traffic over the whole table, 3 tensors deep).
`LazyAdam` (as `tfa.optimizers.LazyAdam` did for Keras 2, and OpenNMT-tf's default) updates
the touched rows only: their moments decay and their values move exactly as in Adam, and an
untouched row's moments stay as they were instead of decaying. Dense gradients get Keras's
`Adam` step unchanged.

Example:
>>> import keras
>>> model = keras.Sequential([keras.layers.Embedding(1000, 8), keras.layers.Dense(1)])
>>> model.compile(optimizer=LazyAdam(learning_rate=1e-3), loss="mse")
"""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["LazyAdam"]


@keras.saving.register_keras_serializable(package="rnnkit")
class LazyAdam(keras.optimizers.Adam):
    """Adam whose sparse updates touch only the rows present in the gradient.

    Takes `keras.optimizers.Adam`'s arguments. With dense gradients it is `Adam`; with a
    `tf.IndexedSlices` gradient (embedding lookups, `tf.nn.sampled_softmax_loss` weights) the
    rows named in it are updated as Adam would (duplicate rows summed first) and the others are
    left alone, moments included. TensorFlow backend only, like `tf.IndexedSlices`.
    """

    def update_step(self, gradient, variable, learning_rate):
        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        rows, positions = tf.unique(gradient.indices)
        values = tf.math.unsorted_segment_sum(
            tf.cast(gradient.values, dtype), positions, tf.shape(rows)[0]
        )
        lr = tf.cast(learning_rate, dtype)
        step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        alpha = lr * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))

        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocities[index]
        # Written as Keras's Adam writes it, so the rounding matches too.
        m_rows = tf.gather(m.value, rows)
        m_rows = m_rows + (values - m_rows) * (1 - self.beta_1)
        v_rows = tf.gather(v.value, rows)
        v_rows = v_rows + (tf.square(values) - v_rows) * (1 - self.beta_2)
        self.assign(m, tf.IndexedSlices(m_rows, rows))
        self.assign(v, tf.IndexedSlices(v_rows, rows))
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            v_rows = tf.maximum(tf.gather(v_hat.value, rows), v_rows)
            self.assign(v_hat, tf.IndexedSlices(v_rows, rows))
        update = m_rows * alpha / (tf.sqrt(v_rows) + self.epsilon)
        self.assign_sub(variable, tf.IndexedSlices(update, rows))
