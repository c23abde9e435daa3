// The reference decoder transformer written with @tensorflow/tfjs, the peer the benchmark compares against.
// Same shapes and math as DecoderTransformer: learned positions, pre-LN, causal MHA, GELU(erf) MLP, tied head.
import type * as tf from '@tensorflow/tfjs';

export interface TfjsModelConfig {
  vocabSize: number;
  contextLength: number;
  modelDim: number;
  layers: number;
  heads: number;
}

export function createTfjsTrainer(
  tfjs: typeof tf,
  config: TfjsModelConfig,
  options: { learningRate: number; seed: number },
) {
  const { vocabSize, contextLength, modelDim, layers, heads } = config;
  const headDim = modelDim / heads;
  const normal = (shape: number[], scale: number, name: string) =>
    tfjs.variable(tfjs.randomNormal(shape, 0, scale, 'float32', options.seed), true, name);
  const ones = (shape: number[], name: string) => tfjs.variable(tfjs.ones(shape), true, name);
  const zeros = (shape: number[], name: string) => tfjs.variable(tfjs.zeros(shape), true, name);
  const embed = normal([vocabSize, modelDim], 0.02, 'embed');
  const position = normal([contextLength, modelDim], 0.02, 'position');
  const blocks = Array.from({ length: layers }, (_, layer) => ({
    ln1Scale: ones([modelDim], `ln1s${layer}`),
    ln1Bias: zeros([modelDim], `ln1b${layer}`),
    qkv: normal([modelDim, 3 * modelDim], 0.02, `qkv${layer}`),
    qkvBias: zeros([3 * modelDim], `qkvb${layer}`),
    out: normal([modelDim, modelDim], 0.02, `out${layer}`),
    outBias: zeros([modelDim], `outb${layer}`),
    ln2Scale: ones([modelDim], `ln2s${layer}`),
    ln2Bias: zeros([modelDim], `ln2b${layer}`),
    up: normal([modelDim, 4 * modelDim], 0.02, `up${layer}`),
    upBias: zeros([4 * modelDim], `upb${layer}`),
    down: normal([4 * modelDim, modelDim], 0.02, `down${layer}`),
    downBias: zeros([modelDim], `downb${layer}`),
  }));
  const finalScale = ones([modelDim], 'lnfs');
  const finalBias = zeros([modelDim], 'lnfb');
  const optimizer = tfjs.train.adam(options.learningRate);

  const layerNorm = (x: tf.Tensor, scale: tf.Tensor, bias: tf.Tensor) => {
    const { mean, variance } = tfjs.moments(x, -1, true);
    return tfjs.add(tfjs.mul(tfjs.div(tfjs.sub(x, mean), tfjs.sqrt(tfjs.add(variance, 1e-5))), scale), bias);
  };
  const gelu = (x: tf.Tensor) => tfjs.mul(tfjs.mul(x, 0.5), tfjs.add(tfjs.erf(tfjs.mul(x, Math.SQRT1_2)), 1));

  function loss(
    tokenIds: tf.Tensor2D,
    targets: tf.Tensor2D,
    mask: tf.Tensor2D,
    batch: number,
    seq: number,
  ): tf.Scalar {
    const causal = tfjs.mul(tfjs.sub(1, tfjs.linalg.bandPart(tfjs.ones([seq, seq]), -1, 0)), -1e9);
    // One-hot matmul instead of gather: the wasm backend lacks UnsortedSegmentSum, the gather gradient.
    const embedded = tfjs.reshape(tfjs.matMul(tfjs.oneHot(tfjs.reshape(tokenIds, [-1]), vocabSize), embed), [
      batch,
      seq,
      modelDim,
    ]);
    let hidden: tf.Tensor = tfjs.add(embedded, tfjs.slice(position, [0, 0], [seq, modelDim]));
    const toHeads = (x: tf.Tensor) =>
      tfjs.transpose(tfjs.reshape(x, [batch, seq, heads, headDim]), [0, 2, 1, 3]);
    for (const block of blocks) {
      const normed = tfjs.reshape(layerNorm(hidden, block.ln1Scale, block.ln1Bias), [batch * seq, modelDim]);
      const qkv = tfjs.reshape(tfjs.add(tfjs.matMul(normed, block.qkv), block.qkvBias), [
        batch,
        seq,
        3 * modelDim,
      ]);
      const [query, key, value] = tfjs.split(qkv, 3, 2) as [tf.Tensor, tf.Tensor, tf.Tensor];
      const scores = tfjs.add(
        tfjs.matMul(tfjs.mul(toHeads(query), 1 / Math.sqrt(headDim)), toHeads(key), false, true),
        causal,
      );
      const attended = tfjs.matMul(tfjs.softmax(scores), toHeads(value));
      const merged = tfjs.reshape(tfjs.transpose(attended, [0, 2, 1, 3]), [batch * seq, modelDim]);
      hidden = tfjs.add(
        hidden,
        tfjs.reshape(tfjs.add(tfjs.matMul(merged, block.out), block.outBias), [batch, seq, modelDim]),
      );
      const normed2 = tfjs.reshape(layerNorm(hidden, block.ln2Scale, block.ln2Bias), [batch * seq, modelDim]);
      const up = gelu(tfjs.add(tfjs.matMul(normed2, block.up), block.upBias));
      hidden = tfjs.add(
        hidden,
        tfjs.reshape(tfjs.add(tfjs.matMul(up, block.down), block.downBias), [batch, seq, modelDim]),
      );
    }
    const final = tfjs.reshape(layerNorm(hidden, finalScale, finalBias), [batch * seq, modelDim]);
    const logProbs = tfjs.logSoftmax(tfjs.matMul(final, embed, false, true));
    const picked = tfjs.sum(tfjs.mul(logProbs, tfjs.oneHot(tfjs.reshape(targets, [-1]), vocabSize)), -1);
    const flatMask = tfjs.reshape(mask, [-1]);
    return tfjs.neg(
      tfjs.div(tfjs.sum(tfjs.mul(picked, flatMask)), tfjs.maximum(tfjs.sum(flatMask), 1)),
    ) as tf.Scalar;
  }

  return {
    /** One forward + backward + Adam step; resolves with the loss. */
    async step(
      tokenIds: Int32Array,
      targets: Int32Array,
      mask: Float32Array,
      batch: number,
      seq: number,
    ): Promise<number> {
      const ids = tfjs.tensor2d(tokenIds, [batch, seq], 'int32');
      const targetTensor = tfjs.tensor2d(targets, [batch, seq], 'int32');
      const maskTensor = tfjs.tensor2d(mask, [batch, seq]);
      const value = optimizer.minimize(
        () => loss(ids, targetTensor, maskTensor, batch, seq),
        true,
      ) as tf.Scalar;
      const result = (await value.data())[0]!;
      tfjs.dispose([ids, targetTensor, maskTensor, value]);
      return result;
    },
  };
}
