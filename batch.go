package goai

// DefaultMaxRequestBytes is the byte limit of one batch request when the
// annotations set none: 3 MiB of tensor data, so that a request with its
// framing stays below grpc-go's default 4 MiB message limit on servers that
// never raised it.
const DefaultMaxRequestBytes = 3 << 20

// DefaultBatchParallelism is how many requests of one batch call run at
// once when no option says otherwise.
const DefaultBatchParallelism = 4

// batchItems returns the most items of one request under a
// BatchingPolicy.MaxSize of size and a model's MaxBatchSize of modelMax:
// size, at most modelMax, which is also the default when size is not
// positive, and [DefaultMicroBatchSize] when neither is.
func batchItems(size, modelMax int) int {
	if size <= 0 || modelMax > 0 && size > modelMax {
		size = modelMax
	}
	if size <= 0 {
		size = DefaultMicroBatchSize
	}
	return size
}

// MaxRequestItems returns the most items one request of the model holds:
// Batching.MaxSize, at most MaxBatchSize, which is also the default when
// Batching.MaxSize is not positive, and [DefaultMicroBatchSize] when
// neither is.
func (d *ModelDesc) MaxRequestItems() int { return batchItems(d.Batching.MaxSize, d.MaxBatchSize) }
