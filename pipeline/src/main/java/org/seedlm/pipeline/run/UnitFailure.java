package org.seedlm.pipeline.run;

/**
 * Why a unit failed, written to {@code failures/unit-NNNNNNNN.json}.
 *
 * @param unit unit id
 * @param tensor tensor name
 * @param message the error message
 * @param badInput whether the input is at fault (NaN weights, corrupt checkpoint) rather than the machine
 * @param atMillis epoch millis
 * @param attempt attempt id
 */
public record UnitFailure(int unit, String tensor, String message, boolean badInput, long atMillis, String attempt) {}
