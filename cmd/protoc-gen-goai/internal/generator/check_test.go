package generator

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCheck runs the generator over each proto in testdata/protos/invalid,
// one mistake per file, and compares every reported problem, position
// included: errors, then warnings. A file with warnings alone must still
// generate. several_mistakes.proto proves that errors are all reported at
// once, in source order.
func TestCheck(t *testing.T) {
	tests := map[string][]string{
		"attempt_timeout_equals_timeout.proto": {
			`invalid/attempt_timeout_equals_timeout.proto:20:5: test.v1.DigitModel.Classify: attempt_timeout "1s" equals timeout "1s", so an attempt it cuts short leaves no time to retry; lower attempt_timeout below timeout, or remove it`,
		},
		"attempt_timeout_over_timeout.proto": {
			`invalid/attempt_timeout_over_timeout.proto:20:5: test.v1.DigitModel.Classify: attempt_timeout "1s" exceeds timeout "100ms", so no attempt can use all of it; lower attempt_timeout or raise timeout`,
		},
		"bad_duration.proto": {
			`invalid/bad_duration.proto:20:5: test.v1.DigitModel.Classify: timeout "fast" is not a duration; write it as Go's time.ParseDuration reads it, such as "250ms" or "1.5s"`,
		},
		"bad_failure_ratio.proto": {
			`invalid/bad_failure_ratio.proto:20:5: test.v1.DigitModel.Classify: breaker.failure_ratio 1.5 is outside (0, 1]; use a fraction of failed calls, such as 0.5`,
		},
		"batch_method_collision.proto": {
			`invalid/batch_method_collision.proto:19:3: test.v1.DigitModel.Classify: rpc Classify would give DigitModelModelClient the batch method ClassifyBatch, but that is the method of rpc ClassifyBatch; rename one of the rpcs`,
		},
		"batch_too_many_elements.proto": {
			`invalid/batch_too_many_elements.proto:18:3: test.v1.DigitModel: max_batch_size 64 makes a full batch of tensor "pixels" of test.v1.Digit hold 64 × 67108864 elements, more than the 2147483647 one request can carry; lower max_batch_size to 31 or less`,
		},
		"batcher_method_collision.proto": {
			`invalid/batcher_method_collision.proto:19:3: test.v1.DigitModel.Classify: rpc Classify would give DigitModelModelClient the batcher method NewClassifyBatcher, but that is the method of rpc NewClassifyBatcher; rename one of the rpcs`,
		},
		"batching_max_size_over.proto": {
			`invalid/batching_max_size_over.proto:18:3: test.v1.DigitModel: batching.max_size 64 exceeds max_batch_size 32; lower max_size to 32 or less, or raise max_batch_size`,
		},
		"batching_without_batch_dim.proto": {
			`invalid/batching_without_batch_dim.proto:18:3: test.v1.DigitModel: batching needs a batch dimension, but max_batch_size is 0; set max_batch_size to the model's largest batch, or remove batching`,
		},
		"burst_without_rate.proto": {
			`invalid/burst_without_rate.proto:18:3: test.v1.DigitModel: limits.burst 10 has no effect without limits.rate_per_second; set rate_per_second, or remove burst`,
		},
		"bytes_dtype_on_float.proto": {
			`invalid/bytes_dtype_on_float.proto:10:28: test.v1.Digit.text: dtype BYTES does not fit field type float; use a string or bytes field, repeated for several elements`,
		},
		"call_model_nul.proto": {
			`invalid/call_model_nul.proto:20:5: test.v1.DigitModel.Classify: model.name "mnist\x00large" holds '\x00', which a model name or version cannot: servers hold each as one path segment, a directory of Triton's model repository and a segment of /v2/models/<name>/versions/<version>; use only ASCII letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @`,
		},
		"call_model_without_name.proto": {
			`invalid/call_model_without_name.proto:20:5: test.v1.DigitModel.Classify: model has no name; set model: {name: "..."}, or remove it`,
		},
		"call_without_model.proto": {
			`invalid/call_without_model.proto:17:1: test.v1.DigitModel: model name is missing; set option (goai.v1.model) = {name: "..."}, or protocol: PROTOCOL_DIRECT if the service is itself the model's API`,
		},
		"client_name_collision.proto": {
			`invalid/client_name_collision.proto:19:1: test.v1.Digits: generated name DigitsModelClient collides with protoc-gen-go-grpc's DigitsModelClient for test.v1.DigitsModel; rename one of them`,
			`invalid/client_name_collision.proto:19:1: test.v1.Digits: generated name NewDigitsModelClient collides with protoc-gen-go-grpc's NewDigitsModelClient for test.v1.DigitsModel; rename one of them`,
		},
		"default_call_model.proto": {
			`invalid/default_call_model.proto:18:3: test.v1.DigitModel: default_call.model would override the model of every rpc; set name and version on (goai.v1.model) itself, or model on one rpc's (goai.v1.call)`,
		},
		"default_retry_no_effect.proto": {
			`invalid/default_retry_no_effect.proto:18:3: test.v1.DigitModel: default_call.retry.initial_backoff has no effect, as no rpc is retried: default_call.retry.max_attempts is unset; set default_call.retry.max_attempts to 2 or more, or max_attempts on the rpcs that are to retry, or remove it`,
		},
		"direct_fallback.proto": {
			`invalid/direct_fallback.proto:16:3: test.v1.ParamStore: fallback does not apply to PROTOCOL_DIRECT, whose requests name no model: the fallback would call the same rpc again; remove fallback`,
		},
		"direct_retry_not_idempotent.proto": {
			`invalid/direct_retry_not_idempotent.proto:18:5: test.v1.ParamStore.Push: retry has no effect, as a call that may not run twice is never retried once sent, and a PROTOCOL_DIRECT rpc is not idempotent unless its annotation says so; set idempotent: true if running the rpc twice is safe, or remove retry`,
		},
		"direct_rpc_named_setroutes.proto": {
			`invalid/direct_rpc_named_setroutes.proto:17:3: test.v1.ParamStore.SetRoutes: rpc SetRoutes would give ParamStoreModelClient the method SetRoutes, but that is the client's own method; rename the rpc`,
		},
		"disabled_breaker_rules.proto": {
			`invalid/disabled_breaker_rules.proto:20:5: test.v1.DigitModel.Classify: breaker.consecutive_failures and breaker.open_timeout have no effect, as the breaker is off: breaker.disabled is true; remove them, or breaker.disabled`,
		},
		"dtype_mismatch.proto": {
			`invalid/dtype_mismatch.proto:10:30: test.v1.Digit.pixels: dtype FP32 does not fit field type int64; use repeated float or bytes`,
		},
		"duplicate_tensor_names.proto": {
			`invalid/duplicate_tensor_names.proto:11:28: test.v1.Digit.mask: tensor name "input" is already used by test.v1.Digit.pixels; give each tensor its own name`,
		},
		"fallback_dotdot.proto": {
			`invalid/fallback_dotdot.proto:18:3: test.v1.DigitModel: fallback.name ".." names a directory relative to the model repository, not a model or version; use another name`,
		},
		"fallback_is_rpc_model.proto": {
			`invalid/fallback_is_rpc_model.proto:21:5: test.v1.DigitModel.ClassifySmall: model names the service's fallback, model "mnist-small", so the rpc would fall back to the model it has just called; call another model, or change fallback`,
		},
		"fallback_signature.proto": {
			`invalid/fallback_signature.proto:28:3: test.v1.DigitModel.ClassifyColor: rpc ClassifyColor has other input tensors than rpc Classify (its tensor "pixels" is FP32 [3, 28, 28], Classify's FP32 [28, 28]), and every rpc falls back to model "mnist-small", which has one signature; give the rpcs the same tensors, or remove fallback`,
		},
		"fallback_without_name.proto": {
			`invalid/fallback_without_name.proto:18:3: test.v1.DigitModel: fallback has no name; set fallback: {name: "..."}, or remove it`,
		},
		"inherited_disabled_breaker.proto": {
			`invalid/inherited_disabled_breaker.proto:20:5: test.v1.DigitModel.Classify: breaker.failure_ratio has no effect, as the breaker is off: default_call.breaker.disabled is true; set breaker.disabled: false to turn the breaker on here, or remove it`,
		},
		"input_without_tensors.proto": {
			`invalid/input_without_tensors.proto:17:3: test.v1.DigitModel.Classify: input message test.v1.Empty has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API`,
		},
		"jitter_out_of_range.proto": {
			`invalid/jitter_out_of_range.proto:22:5: test.v1.DigitModel.Classify: retry.jitter 1.5 is outside [0, 1]; use a fraction, such as 0.2, or 0 for none`,
		},
		"lowercase_retry_code.proto": {
			`invalid/lowercase_retry_code.proto:20:5: test.v1.DigitModel.Classify: retry.retryable_codes has unknown code "unavailable"; spell it in upper case, as google.rpc.Code does: "UNAVAILABLE"`,
		},
		"max_attempts_negative.proto": {
			`invalid/max_attempts_negative.proto:20:5: test.v1.DigitModel.Classify: retry.max_attempts -1 is below 1; use 1 for a single attempt, or more to retry`,
		},
		"max_backoff_below_inherited.proto": {
			`invalid/max_backoff_below_inherited.proto:20:5: test.v1.DigitModel.Classify: retry.max_backoff "100ms" is below default_call.retry.initial_backoff "500ms"; raise max_backoff or lower initial_backoff`,
		},
		"max_backoff_below_initial.proto": {
			`invalid/max_backoff_below_initial.proto:20:5: test.v1.DigitModel.Classify: retry.max_backoff "100ms" is below retry.initial_backoff "1s"; raise max_backoff or lower initial_backoff`,
		},
		"max_delay_over_timeout.proto": {
			`invalid/max_delay_over_timeout.proto:18:3: test.v1.DigitModel: warning: batching.max_delay "500ms" is longer than the timeout "200ms" of rpc Classify: the timeout bounds a call of its micro-batcher from the moment it is made, so a call whose batch does not fill fails before the batch goes; lower max_delay below the timeout, or keep it only if batches always fill first`,
		},
		"max_queue_below_max_size.proto": {
			`invalid/max_queue_below_max_size.proto:18:3: test.v1.DigitModel: batching.max_queue 8 is below the batch size, max_batch_size 32, so no batch could fill; raise max_queue to 32 or more, or lower the batch size`,
		},
		"min_requests_without_ratio.proto": {
			`invalid/min_requests_without_ratio.proto:20:5: test.v1.DigitModel.Classify: breaker.min_requests 10 has no effect: it applies to a failure ratio, and breaker.failure_ratio is unset while breaker.consecutive_failures 5 replaces the default ratio; set failure_ratio, or remove min_requests`,
		},
		"model_name_missing.proto": {
			`invalid/model_name_missing.proto:18:3: test.v1.DigitModel: model name is missing; set option (goai.v1.model) = {name: "..."}, or protocol: PROTOCOL_DIRECT if the service is itself the model's API`,
		},
		"model_name_slash.proto": {
			`invalid/model_name_slash.proto:18:3: test.v1.DigitModel: name "models/mnist" holds '/', which a model name or version cannot: servers hold each as one path segment, a directory of Triton's model repository and a segment of /v2/models/<name>/versions/<version>; use only ASCII letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @`,
		},
		"model_version_newline.proto": {
			`invalid/model_version_newline.proto:18:3: test.v1.DigitModel: version "1\n" holds '\n', which a model name or version cannot: servers hold each as one path segment, a directory of Triton's model repository and a segment of /v2/models/<name>/versions/<version>; use only ASCII letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @`,
		},
		"multiplier_below_one.proto": {
			`invalid/multiplier_below_one.proto:20:5: test.v1.DigitModel.Classify: retry.backoff_multiplier 0.5 is below 1, which would shrink the waits; use 1 or more, or leave it unset for 2`,
		},
		"name_collision.proto": {
			`invalid/name_collision.proto:9:1: test.v1.Digit: generated name DigitTensors collides with the Go name of test.v1.DigitTensors; rename one of them`,
		},
		"narrow_int_wrong_field.proto": {
			`invalid/narrow_int_wrong_field.proto:10:30: test.v1.Digit.labels: dtype INT8 does not fit field type int64; use repeated int32 or bytes`,
		},
		"negative_interval.proto": {
			`invalid/negative_interval.proto:20:5: test.v1.DigitModel.Classify: breaker.interval "-1m" is negative; use a positive duration, or leave it unset to never reset the counts`,
		},
		"negative_limits.proto": {
			`invalid/negative_limits.proto:18:3: test.v1.DigitModel: limits.max_concurrent -1 is negative; use a positive value, or leave it unset for no cap`,
		},
		"negative_max_batch_size.proto": {
			`invalid/negative_max_batch_size.proto:18:3: test.v1.DigitModel: max_batch_size -1 is negative; use 0 for a model without a batch dimension, or the model's largest batch`,
		},
		"output_without_tensors.proto": {
			`invalid/output_without_tensors.proto:17:3: test.v1.DigitModel.Classify: output message test.v1.Ack has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API`,
		},
		"repeated_bytes_raw.proto": {
			`invalid/repeated_bytes_raw.proto:10:30: test.v1.Digit.chunks: dtype FP32 does not fit repeated bytes, whose elements are BYTES; use a singular bytes field for raw FP32 data`,
		},
		"retry_code_ok.proto": {
			`invalid/retry_code_ok.proto:20:5: test.v1.DigitModel.Classify: retry.retryable_codes lists OK, which is a success, not a failure; remove it`,
		},
		"retry_codes_without_attempts.proto": {
			`invalid/retry_codes_without_attempts.proto:20:5: test.v1.DigitModel.Classify: retry.retryable_codes has no effect, as the call is not retried: retry.max_attempts is unset; set retry.max_attempts to 2 or more, or remove it`,
		},
		"retry_not_idempotent.proto": {
			`invalid/retry_not_idempotent.proto:20:5: test.v1.DigitModel.Classify: retry has no effect, as a call that may not run twice is never retried once sent, and idempotent is false; set idempotent: true if running the rpc twice is safe, or remove retry`,
		},
		"rpc_named_close.proto": {
			`invalid/rpc_named_close.proto:19:3: test.v1.DigitModel.Close: rpc Close would give DigitModelModelClient the method Close, but that is the client's own method; rename the rpc`,
		},
		"rpc_named_ready.proto": {
			`invalid/rpc_named_ready.proto:19:3: test.v1.DigitModel.Ready: rpc Ready would give DigitModelModelClient the method Ready, but that is the client's own method; rename the rpc`,
		},
		"scalar_shape.proto": {
			`invalid/scalar_shape.proto:10:26: test.v1.Digit.temperature: a singular float field holds one element, so its shape may only be empty or all 1s, not [3]; make the field repeated, or drop the shape`,
		},
		"several_mistakes.proto": {
			`invalid/several_mistakes.proto:10:30: test.v1.Digit.pixels: dtype FP32 does not fit field type int64; use repeated float or bytes`,
			`invalid/several_mistakes.proto:11:36: test.v1.Digit.features: a map field cannot hold a tensor; use a repeated field, or remove (goai.v1.tensor)`,
			`invalid/several_mistakes.proto:12:28: test.v1.Digit.mask: shape [-1, -1] has 2 dynamic dimensions, but the data's length can tell the size of only one; fix all but one of them`,
			`invalid/several_mistakes.proto:17:30: test.v1.Scores.logits: tensor name "out" is already used by test.v1.Scores.probs; give each tensor its own name`,
			`invalid/several_mistakes.proto:23:3: test.v1.DigitModel: model name is missing; set option (goai.v1.model) = {name: "..."}, or protocol: PROTOCOL_DIRECT if the service is itself the model's API`,
			`invalid/several_mistakes.proto:23:3: test.v1.DigitModel: max_batch_size -4 is negative; use 0 for a model without a batch dimension, or the model's largest batch`,
			`invalid/several_mistakes.proto:23:3: test.v1.DigitModel: batching.max_delay "soon" is not a duration; write it as Go's time.ParseDuration reads it, such as "250ms" or "1.5s"`,
			`invalid/several_mistakes.proto:23:3: test.v1.DigitModel: fallback has no name; set fallback: {name: "..."}, or remove it`,
			`invalid/several_mistakes.proto:23:3: test.v1.DigitModel: default_call.retry.jitter -0.5 is outside [0, 1]; use a fraction, such as 0.2, or 0 for none`,
			`invalid/several_mistakes.proto:23:3: test.v1.DigitModel: default_call.retry.retryable_codes lists UNAVAILABLE twice; remove one`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: timeout "1 second" is not a duration; write it as Go's time.ParseDuration reads it, such as "250ms" or "1.5s"`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: retry.max_attempts -3 is below 1; use 1 for a single attempt, or more to retry`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: retry.backoff_multiplier 0.9 is below 1, which would shrink the waits; use 1 or more, or leave it unset for 2`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: breaker.open_timeout "0s" is not above zero; use a positive duration, such as "250ms", or leave breaker.open_timeout unset`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: breaker.failure_ratio 2 is outside (0, 1]; use a fraction of failed calls, such as 0.5`,
			`invalid/several_mistakes.proto:40:3: test.v1.DigitModel.Stream: rpc Stream streams its requests, which a model of PROTOCOL_OPEN_INFERENCE cannot take: each call sends one request, answered once or, by a decoupled model, with a stream of responses; make the rpc unary, or, for a decoupled model, rpc Stream(Empty) returns (stream Scores), or set protocol: PROTOCOL_DIRECT on the service`,
			`invalid/several_mistakes.proto:40:3: test.v1.DigitModel.Stream: input message test.v1.Empty has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API`,
		},
		"shape_below_minus_one.proto": {
			`invalid/shape_below_minus_one.proto:10:30: test.v1.Digit.pixels: shape [-2, 4] has dimension -2; use a size of 1 or more, or -1 for a dynamic dimension`,
		},
		"shape_too_many_elements.proto": {
			`invalid/shape_too_many_elements.proto:10:30: test.v1.Digit.pixels: shape [4294967296, 4294967296, 4294967296] holds more than 2147483647 elements, the most that one request can carry (a gRPC message holds at most 2 GiB, and an element takes a byte or more); use smaller sizes`,
		},
		"shape_zero.proto": {
			`invalid/shape_zero.proto:10:30: test.v1.Digit.pixels: shape [3, 0, 224] has dimension 0; use a size of 1 or more, or -1 for a dynamic dimension`,
		},
		"shared_model_breaker.proto": {
			`invalid/shared_model_breaker.proto:21:5: test.v1.DigitModel.ClassifyAgain: rpc ClassifyAgain has another breaker than rpc Classify, which calls model "mnist" too: a model has one breaker, set by the first rpc that calls it, so this rpc's would be ignored; give the rpcs the same breaker (in default_call, say), or call another model`,
		},
		"shared_model_inputs.proto": {
			`invalid/shared_model_inputs.proto:28:3: test.v1.DigitModel.ClassifyColor: rpc ClassifyColor calls model "mnist", as rpc Classify does, with other input tensors (its tensor "pixels" is FP32 [3, 28, 28], Classify's FP32 [28, 28]), but a model has one signature; give the rpcs the same tensors, or call another model`,
		},
		"shared_model_outputs.proto": {
			`invalid/shared_model_outputs.proto:28:3: test.v1.DigitModel.Label: rpc Label calls model "mnist", as rpc Classify does, with other output tensors (its tensor "probs" is INT64 [10], Classify's FP32 [10]), but a model has one signature; give the rpcs the same tensors, or call another model`,
		},
		"shared_model_versions.proto": {
			`invalid/shared_model_versions.proto:28:3: test.v1.DigitModel.ClassifyColor: rpc ClassifyColor calls model "mnist" version "2", and rpc Classify its version "1", with other input tensors (its tensor "pixels" is FP32 [3, 28, 28], Classify's FP32 [28, 28]), but the fake serves every version of a model with one signature, its first rpc's; give the rpcs the same tensors, or generate with fakes=false`,
		},
		"tfserving_streaming_rpc.proto": {
			`invalid/tfserving_streaming_rpc.proto:19:3: test.v1.LLM.Generate: a streaming rpc cannot be called through PROTOCOL_TF_SERVING, whose Predict is unary; make the rpc unary, call a decoupled model through PROTOCOL_OPEN_INFERENCE, or set protocol: PROTOCOL_DIRECT on the service`,
		},
		"idle_timeout_unary.proto": {
			`invalid/idle_timeout_unary.proto:20:5: test.v1.LLM.Complete: idle_timeout has no effect, as the rpc is unary: it bounds the wait for each response of an rpc that returns a stream; remove it, or declare the rpc returns (stream ...) if its model is decoupled`,
		},
		"default_idle_timeout_without_stream.proto": {
			`invalid/default_idle_timeout_without_stream.proto:18:3: test.v1.LLM: default_call.idle_timeout has no effect, as no rpc returns a stream: it bounds the wait for each response of one; remove it, or declare the rpcs of decoupled models returns (stream ...)`,
		},
		"idle_timeout_over_timeout.proto": {
			`invalid/idle_timeout_over_timeout.proto:20:5: test.v1.LLM.Generate: idle_timeout "5s" exceeds timeout "1s", which bounds the whole stream, so it never cuts a wait; lower idle_timeout or raise timeout`,
		},
		"stream_and_unary_same_model.proto": {
			`invalid/stream_and_unary_same_model.proto:20:3: test.v1.LLM.Complete: rpc Generate returns a stream and rpc Complete does not, but both call model "llm", which is a decoupled model (answering a request with a stream of responses) or not; call another model from one of them, or make both return a stream or neither`,
		},
		"stream_fallback_mixed.proto": {
			`invalid/stream_fallback_mixed.proto:23:3: test.v1.LLM.Complete: rpc Generate returns a stream and rpc Complete does not, and every rpc falls back to model "llm-small", which is a decoupled model or not; give the service's rpcs one kind, or remove fallback`,
		},
		"batching_all_streaming.proto": {
			`invalid/batching_all_streaming.proto:18:3: test.v1.LLM: batching has no effect, as every rpc of the service returns a stream: a decoupled model's calls carry one item each, and have no batch call or micro-batcher; remove batching`,
		},
		"streaming_rpc.proto": {
			`invalid/streaming_rpc.proto:19:3: test.v1.DigitModel.Classify: rpc Classify streams its requests, which a model of PROTOCOL_OPEN_INFERENCE cannot take: each call sends one request, answered once or, by a decoupled model, with a stream of responses; make the request a single message: rpc Classify(Digit) returns (stream Scores), or set protocol: PROTOCOL_DIRECT on the service`,
		},
		"submicrosecond_timeout.proto": {
			`invalid/submicrosecond_timeout.proto:20:5: test.v1.DigitModel.Classify: timeout "500ns" is below a microsecond, shorter than anything a remote call does (a slip of the unit?); use a duration of 1µs or more, such as "250ms", or leave timeout unset`,
		},
		"tensor_in_oneof.proto": {
			`invalid/tensor_in_oneof.proto:11:20: test.v1.Digit.png: a field of oneof source cannot hold a tensor, as every tensor goes with every call; declare the field outside the oneof`,
		},
		"tensor_on_enum.proto": {
			`invalid/tensor_on_enum.proto:10:20: test.v1.Digit.color: field type test.v1.Color is an enum, which cannot hold a tensor; use an int32 field`,
		},
		"tensor_on_extension.proto": {
			`invalid/tensor_on_extension.proto:15:31: test.v1.extra: an extension field cannot hold a tensor; declare the field in the message itself`,
		},
		"tensor_on_map.proto": {
			`invalid/tensor_on_map.proto:10:36: test.v1.Digit.features: a map field cannot hold a tensor; use a repeated field, or remove (goai.v1.tensor)`,
		},
		"tensor_on_message.proto": {
			`invalid/tensor_on_message.proto:10:20: test.v1.Digit.image: field type test.v1.Image is a message, which cannot hold a tensor; annotate the fields of test.v1.Image instead`,
		},
		"tf_serving_call_version.proto": {
			`invalid/tf_serving_call_version.proto:20:5: test.v1.DigitModel.Classify: model.version "latest" is not a version number, and TF Serving's versions are numbers; write the version's number, or remove it for the server's latest`,
		},
		"tf_serving_fallback_version.proto": {
			`invalid/tf_serving_fallback_version.proto:18:3: test.v1.DigitModel: fallback.version "canary" is not a version number, and TF Serving's versions are numbers; write the version's number, or remove it for the server's latest`,
		},
		"tf_serving_label_and_version.proto": {
			`invalid/tf_serving_label_and_version.proto:18:3: test.v1.DigitModel: tf_serving.version_label "stable" and version "2" both name the version to call, but TF Serving takes one or the other (ModelSpec's version_choice is a oneof); keep one of them`,
		},
		"tf_serving_label_no_effect.proto": {
			`invalid/tf_serving_label_no_effect.proto:18:3: test.v1.DigitModel: tf_serving.version_label "stable" has no effect, as no rpc calls model "mnist": the label names a version of the service's own model, and every rpc sets a model of its own; remove version_label, or let an rpc call the service's model`,
		},
		"tf_serving_label_slash.proto": {
			`invalid/tf_serving_label_slash.proto:18:3: test.v1.DigitModel: tf_serving.version_label "stable/2" holds '/', which a model name or version label cannot: TF Serving holds each as one path segment, a directory of its model base path and a segment of /v1/models/<name>/labels/<label>; use only ASCII letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @`,
		},
		"tf_serving_on_open_inference.proto": {
			`invalid/tf_serving_on_open_inference.proto:18:3: test.v1.DigitModel: tf_serving applies to PROTOCOL_TF_SERVING alone, and the service's protocol is PROTOCOL_OPEN_INFERENCE; set protocol: PROTOCOL_TF_SERVING, or remove tf_serving`,
		},
		"tf_serving_version_not_number.proto": {
			`invalid/tf_serving_version_not_number.proto:18:3: test.v1.DigitModel: version "stable" is not a version number, and TF Serving's versions are numbers; write the version's number, or set tf_serving: {version_label: "stable"} to call the version that label names`,
		},
		"tf_serving_version_overflow.proto": {
			`invalid/tf_serving_version_overflow.proto:18:3: test.v1.DigitModel: version "9223372036854775808" is above the largest version TF Serving has, 9223372036854775807 (an int64); write the version's number`,
		},
		"two_dynamic_dims.proto": {
			`invalid/two_dynamic_dims.proto:10:30: test.v1.Digit.pixels: shape [-1, -1, 3] has 2 dynamic dimensions, but the data's length can tell the size of only one; fix all but one of them`,
		},
		"unknown_dtype.proto": {
			`invalid/unknown_dtype.proto:10:30: test.v1.Digit.pixels: dtype 99 is not a goai.v1.DType; use one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64 or BYTES`,
		},
		"unknown_protocol.proto": {
			`invalid/unknown_protocol.proto:18:3: test.v1.DigitModel: protocol 7 is not a goai.v1.Protocol; use PROTOCOL_OPEN_INFERENCE, PROTOCOL_TF_SERVING or PROTOCOL_DIRECT`,
		},
		"unknown_retry_code.proto": {
			`invalid/unknown_retry_code.proto:20:5: test.v1.DigitModel.Classify: retry.retryable_codes has unknown code "UNAVAILBLE"; use a google.rpc.Code name, such as UNAVAILABLE or RESOURCE_EXHAUSTED`,
		},
		"zero_duration.proto": {
			`invalid/zero_duration.proto:20:5: test.v1.DigitModel.Classify: timeout "0s" is not above zero; use a positive duration, such as "250ms", or leave timeout unset`,
		},
	}

	files := findProtos(t, protoRoot, "invalid")
	for _, file := range files {
		if _, ok := tests[strings.TrimPrefix(file, "invalid/")]; !ok {
			t.Errorf("%s has no test case", file)
		}
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			resp, warnings, err := generateAll(t, testProtos(t, "", "invalid/"+name), defaults)
			errors := slices.ContainsFunc(want, func(line string) bool { return !strings.Contains(line, ": warning: ") })
			switch {
			case !errors && err != nil:
				t.Errorf("an error besides the warnings: %v", err)
			case !errors && len(resp.File) != 2:
				t.Errorf("wrote %d files for warnings alone, want the client's and the fake's", len(resp.File))
			case errors && err == nil:
				t.Fatal("no error")
			case errors && len(resp.File) > 0:
				t.Errorf("wrote %d files despite the errors", len(resp.File))
			}
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			got = append(got, warnings...)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
