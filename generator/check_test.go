package generator

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCheck runs the generator over each proto in testdata/protos/invalid,
// one mistake per file, and compares every reported problem, position
// included. several_mistakes.proto proves that they are all reported at
// once, in source order.
func TestCheck(t *testing.T) {
	tests := map[string][]string{
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
		"direct_fallback.proto": {
			`invalid/direct_fallback.proto:16:3: test.v1.ParamStore: fallback does not apply to PROTOCOL_DIRECT, whose requests name no model: the fallback would call the same rpc again; remove fallback`,
		},
		"direct_rpc_named_caller.proto": {
			`invalid/direct_rpc_named_caller.proto:17:3: test.v1.ParamStore.Caller: rpc Caller would give ParamStoreModelClient the method Caller, but that is the client's own method; rename the rpc`,
		},
		"dtype_mismatch.proto": {
			`invalid/dtype_mismatch.proto:10:30: test.v1.Digit.pixels: dtype FP32 does not fit field type int64; use repeated float or bytes`,
		},
		"duplicate_tensor_names.proto": {
			`invalid/duplicate_tensor_names.proto:11:28: test.v1.Digit.mask: tensor name "input" is already used by test.v1.Digit.pixels; give each tensor its own name`,
		},
		"fallback_without_name.proto": {
			`invalid/fallback_without_name.proto:18:3: test.v1.DigitModel: fallback has no name; set fallback: {name: "..."}, or remove it`,
		},
		"input_without_tensors.proto": {
			`invalid/input_without_tensors.proto:17:3: test.v1.DigitModel.Classify: input message test.v1.Empty has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API`,
		},
		"jitter_out_of_range.proto": {
			`invalid/jitter_out_of_range.proto:22:5: test.v1.DigitModel.Classify: retry.jitter 1.5 is outside [0, 1]; use a fraction, such as 0.2`,
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
		"model_name_missing.proto": {
			`invalid/model_name_missing.proto:18:3: test.v1.DigitModel: model name is missing; set option (goai.v1.model) = {name: "..."}, or protocol: PROTOCOL_DIRECT if the service is itself the model's API`,
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
		"rpc_named_close.proto": {
			`invalid/rpc_named_close.proto:19:3: test.v1.DigitModel.Close: rpc Close would give DigitModelModelClient the method Close, but that is the client's own method; rename the rpc`,
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
			`invalid/several_mistakes.proto:23:3: test.v1.DigitModel: default_call.retry.jitter -0.5 is outside [0, 1]; use a fraction, such as 0.2`,
			`invalid/several_mistakes.proto:23:3: test.v1.DigitModel: default_call.retry.retryable_codes lists UNAVAILABLE twice; remove one`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: timeout "1 second" is not a duration; write it as Go's time.ParseDuration reads it, such as "250ms" or "1.5s"`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: retry.max_attempts -3 is below 1; use 1 for a single attempt, or more to retry`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: retry.backoff_multiplier 0.9 is below 1, which would shrink the waits; use 1 or more, or leave it unset for 2`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: breaker.open_timeout "0s" is not above zero; use a positive duration, such as "250ms", or leave breaker.open_timeout unset`,
			`invalid/several_mistakes.proto:33:5: test.v1.DigitModel.Classify: breaker.failure_ratio 2 is outside (0, 1]; use a fraction of failed calls, such as 0.5`,
			`invalid/several_mistakes.proto:40:3: test.v1.DigitModel.Stream: a streaming rpc cannot be called through PROTOCOL_OPEN_INFERENCE, whose ModelInfer is unary; make the rpc unary, or set protocol: PROTOCOL_DIRECT on the service`,
			`invalid/several_mistakes.proto:40:3: test.v1.DigitModel.Stream: input message test.v1.Empty has no tensors; annotate its fields with (goai.v1.tensor), or set protocol: PROTOCOL_DIRECT on the service if it is itself the model's API`,
		},
		"shape_below_minus_one.proto": {
			`invalid/shape_below_minus_one.proto:10:30: test.v1.Digit.pixels: shape [-2, 4] has dimension -2; use a size of 1 or more, or -1 for a dynamic dimension`,
		},
		"shape_zero.proto": {
			`invalid/shape_zero.proto:10:30: test.v1.Digit.pixels: shape [3, 0, 224] has dimension 0; use a size of 1 or more, or -1 for a dynamic dimension`,
		},
		"streaming_rpc.proto": {
			`invalid/streaming_rpc.proto:19:3: test.v1.DigitModel.Classify: a streaming rpc cannot be called through PROTOCOL_OPEN_INFERENCE, whose ModelInfer is unary; make the rpc unary, or set protocol: PROTOCOL_DIRECT on the service`,
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
		"two_dynamic_dims.proto": {
			`invalid/two_dynamic_dims.proto:10:30: test.v1.Digit.pixels: shape [-1, -1, 3] has 2 dynamic dimensions, but the data's length can tell the size of only one; fix all but one of them`,
		},
		"unknown_dtype.proto": {
			`invalid/unknown_dtype.proto:10:30: test.v1.Digit.pixels: dtype 99 is not a goai.v1.DType; use one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64 or BYTES`,
		},
		"unknown_protocol.proto": {
			`invalid/unknown_protocol.proto:18:3: test.v1.DigitModel: protocol 7 is not a goai.v1.Protocol; use PROTOCOL_OPEN_INFERENCE or PROTOCOL_DIRECT`,
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
			resp, err := generate(t, testProtos(t, "", "invalid/"+name))
			if err == nil {
				t.Fatal("no error")
			}
			if len(resp.File) > 0 {
				t.Errorf("wrote %d files despite the errors", len(resp.File))
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
