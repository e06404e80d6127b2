/**
 * Plain tensors exchanged with the onnx module, so that nothing outside it depends on
 * onnxruntime's types: a dtype, a flat row-major typed array and the dims.
 */
export type TensorData =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'int32'; data: Int32Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };

export type TensorType = TensorData['type'];

export function float32Tensor(data: Float32Array, dims: readonly number[]): TensorData {
  return { type: 'float32', data, dims };
}

export function int32Tensor(data: Int32Array, dims: readonly number[]): TensorData {
  return { type: 'int32', data, dims };
}

/** "float32[2,77,96]": how tensors appear in logs and error messages. */
export function describeTensor(tensor: { type: string; dims: readonly number[] }): string {
  return `${tensor.type}[${tensor.dims.join(',')}]`;
}
