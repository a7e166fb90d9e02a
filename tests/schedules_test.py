"""Tests for compare_gan2.schedules: learning rates counted in training steps.

Each schedule's values at chosen steps (by hand), its Keras serialisation,
its use by an optimizer eagerly, in a tf.function and under 2 replicas, the
D optimizer's disc_iters updates per training step, clear errors, and a run
stopped mid-decay and resumed that equals a straight run bit for bit.
"""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from compare_gan2 import experiment
from compare_gan2 import losses
from compare_gan2 import schedules
from compare_gan2 import testing
from compare_gan2 import train_lib
from compare_gan2.data import bundled
from compare_gan2.gans import modular_gan


def _rates(schedule, steps):
  return [float(schedule(step)) for step in steps]


def test_constant():
  assert _rates(schedules.Constant(3e-4), [0, 7, 10**6]) == [np.float32(3e-4)] * 3


def test_linear_decay_is_the_msgan_code_curve():
  """Tran et al.'s 2e-4·min(0.5, max(0, 1 − t/T)), T = 300k: 1e-4, then linearly to 0."""
  decay = schedules.LinearDecay(1e-4, start_step=150000, end_step=300000)
  steps = [0, 149999, 150000, 187500, 225000, 299999, 300000, 400000]
  code = [2e-4 * min(0.5, max(0.0, 1 - t / 300000)) for t in steps]
  np.testing.assert_allclose(_rates(decay, steps), code, rtol=1e-6, atol=1e-12)
  assert _rates(decay, [0, 300000]) == [np.float32(1e-4), 0.0]  # exact at both ends


def test_linear_decay_to_a_final_rate():
  decay = schedules.LinearDecay(1.0, start_step=2, end_step=6, final_rate=0.2)
  np.testing.assert_allclose(_rates(decay, range(8)), [1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.2],
                             rtol=1e-6)


def test_warmup_then_decay():
  warm = schedules.LinearWarmup(schedules.LinearDecay(1.0, 4, 8), warmup_steps=4)
  np.testing.assert_allclose(_rates(warm, range(10)), [0, .25, .5, .75, 1, .75, .5, .25, 0, 0],
                             rtol=1e-6)
  start = schedules.LinearWarmup(schedules.Constant(2.0), warmup_steps=2, initial_factor=0.5)
  np.testing.assert_allclose(_rates(start, range(4)), [1.0, 1.5, 2.0, 2.0], rtol=1e-6)


def test_steps_switch_at_the_boundary():
  steps = schedules.Steps([0.1, 0.01, 0.001], boundaries=[3, 5])
  np.testing.assert_allclose(_rates(steps, range(7)), [.1, .1, .1, .01, .01, .001, .001],
                             rtol=1e-6)


def test_updates_per_step_maps_optimizer_updates_to_training_steps():
  """D with disc_iters 3: updates 0-2 are step 0, 3-5 step 1, ..."""
  decay = schedules.LinearDecay(1.0, 0, 4, updates_per_step=3)
  np.testing.assert_allclose(_rates(decay, range(9)), [1, 1, 1, .75, .75, .75, .5, .5, .5])


ALL = [schedules.Constant(1e-3),
       schedules.LinearDecay(1e-3, 5, 9, final_rate=1e-5, updates_per_step=2),
       schedules.LinearWarmup(schedules.LinearDecay(1e-3, 5, 9), 3, initial_factor=0.1),
       schedules.Steps([1e-3, 1e-4], [4])]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_serialisation_round_trip(schedule):
  config = keras.optimizers.schedules.serialize(schedule)
  restored = keras.optimizers.schedules.deserialize(config)
  assert type(restored) is type(schedule) and restored.get_config() == schedule.get_config()
  assert _rates(restored, range(12)) == _rates(schedule, range(12))


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_traced_equals_eager(schedule):
  traced = tf.function(schedule)
  assert [float(traced(tf.constant(t, tf.int64))) for t in range(12)] == _rates(schedule, range(12))


def _sgd_steps(schedule, steps, strategy):
  """`steps` SGD updates of a scalar with gradient 1 per replica in a tf.function."""
  with strategy.scope():
    variable = keras.Variable(0.0)
    optimizer = keras.optimizers.SGD(schedule)
    optimizer.build([variable])

  @tf.function
  def run():
    for _ in range(steps):
      strategy.run(lambda: optimizer.apply([tf.constant(1.0)], [variable]))
  run()
  return float(variable.numpy()), float(optimizer.learning_rate)


def test_optimizer_updates_follow_the_schedule_in_a_tf_function(two_replicas):
  """Updates use the rates 1, .75, .5 (sum 2.25), then the rate is .25; same on 2 replicas
  (whose per-replica gradients of 1 Keras sums: 2 per update)."""
  one = _sgd_steps(schedules.LinearDecay(1.0, 0, 4), 3, tf.distribute.get_strategy())
  two = _sgd_steps(schedules.LinearDecay(1.0, 0, 4), 3, two_replicas)
  assert one == pytest.approx((-2.25, 0.25)) and two == pytest.approx((-4.5, 0.25))


@pytest.mark.parametrize("make, message", [
    (lambda: schedules.Constant(-1.0), "Constant: rate must be a finite number >= 0, got -1.0"),
    (lambda: schedules.LinearDecay(1.0, -1, 5), "LinearDecay: start_step must be an integer >= 0"),
    (lambda: schedules.LinearDecay(1.0, 5, 5), r"end_step must be > start_step \(5\), got 5"),
    (lambda: schedules.LinearDecay(1.0, 0, 2.5), "end_step must be an integer >= 0, got 2.5"),
    (lambda: schedules.LinearDecay(float("nan"), 0, 5), "LinearDecay: rate must be a finite"),
    (lambda: schedules.LinearWarmup(0.1, 5), "LinearWarmup: schedule must be a compare_gan2"),
    (lambda: schedules.LinearWarmup(schedules.Constant(1.0), 0), "warmup_steps must be an integer >= 1"),
    (lambda: schedules.LinearWarmup(schedules.Constant(1.0), 2, 1.5), r"initial_factor must be in \[0, 1\]"),
    (lambda: schedules.Steps([1.0], [3]), r"rates needs len\(boundaries\) \+ 1 = 2 values, got 1"),
    (lambda: schedules.Steps([1.0, 2.0, 3.0], [5, 5]), r"boundaries\[1\] = 5 after 5"),
    (lambda: schedules.Constant(1.0, updates_per_step=0), "updates_per_step must be an integer >= 1"),
])
def test_bad_arguments_are_named(make, message):
  with pytest.raises(ValueError, match=message):
    make()


def _gan(disc_iters):
  return modular_gan.ModularGAN(testing.TinyGenerator(), testing.TinyDiscriminator(),
                                disc_iters=disc_iters)


def test_compile_binds_d_to_disc_iters_and_g_to_one():
  d_schedule, g_schedule = schedules.Constant(1.0), schedules.Constant(1.0)
  _gan(3).compile(d_optimizer=keras.optimizers.Adam(d_schedule),
                  g_optimizer=keras.optimizers.Adam(g_schedule))
  assert (d_schedule.updates_per_step, g_schedule.updates_per_step) == (3, 1)


def test_one_schedule_shared_by_d_and_g_with_disc_iters_is_refused():
  shared = schedules.LinearDecay(1.0, 0, 10)
  with pytest.raises(ValueError, match="the G optimizer: .* counts 3 optimizer updates per "
                                       "training step, but the G optimizer makes 1"):
    _gan(3).compile(d_optimizer=keras.optimizers.Adam(shared),
                    g_optimizer=keras.optimizers.Adam(shared))


def test_a_keras_schedule_on_d_with_disc_iters_warns(caplog):
  decay = keras.optimizers.schedules.PolynomialDecay(1.0, 10)
  with caplog.at_level(logging.WARNING):
    _gan(2).compile(d_optimizer=keras.optimizers.Adam(decay),
                    g_optimizer=keras.optimizers.Adam(1e-3))
  assert "the D optimizer: its learning-rate schedule PolynomialDecay counts optimizer " \
         "updates, 2 per training step" in caplog.text


def _train(model_dir, total_steps):
  """train_lib_test's tiny MNIST run (disc_iters 2) with rates decaying over steps 1-8."""
  keras.utils.set_random_seed(2)
  gan = modular_gan.ModularGAN(testing.TinyGenerator((28, 28, 1), z_dim=8),
                               testing.TinyDiscriminator((28, 28, 1)),
                               loss_fn=losses.hinge, disc_iters=2, seed=4)
  schedule = train_lib.Schedule(total_steps=total_steps, steps_per_loop=2, checkpoint_every=3,
                                keep_checkpoints=5, sample_every=3)
  decay = lambda: schedules.LinearWarmup(schedules.LinearDecay(1e-3, 1, 8), warmup_steps=2)
  exp = experiment.make(gan, bundled.bundled_mnist(), keras.optimizers.Adam(decay()),
                        keras.optimizers.Adam(decay()), global_batch_size=12,
                        schedule=schedule, export_at_end=False)
  train_lib.train(exp, str(model_dir))
  return gan


def test_a_resumed_run_continues_the_decay_exactly(tmp_path, caplog):
  """6 steps straight vs 3 + restart with fresh objects + 3: bitwise equal rates and state;
  D (12 updates) and G (6) are both at training step 6 of the curve, as the log says."""
  with caplog.at_level(logging.INFO):
    straight = _train(tmp_path / "straight", 6)
  assert "lr_d 0.0002857  lr_g 0.0002857" in caplog.text  # 1e-3·(1 − 5/7) after step 6
  _train(tmp_path / "resumed", 3)
  resumed = _train(tmp_path / "resumed", 6)
  expected = np.float32(1e-3) * np.float32(1 - (6 - 1) / 7)
  for gan in (straight, resumed):
    assert int(gan.d_optimizer.iterations) == 12 and int(gan.g_optimizer.iterations) == 6
    np.testing.assert_allclose(float(gan.d_optimizer.learning_rate), expected, rtol=1e-6)
  for name in ("d_optimizer", "g_optimizer"):
    assert (np.asarray(getattr(straight, name).learning_rate)
            == np.asarray(getattr(resumed, name).learning_rate))
  state = lambda gan: gan.variables + gan.d_optimizer.variables + gan.g_optimizer.variables
  for a, b in zip(state(straight), state(resumed), strict=True):
    np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
