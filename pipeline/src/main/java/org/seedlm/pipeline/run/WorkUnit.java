package org.seedlm.pipeline.run;

import java.io.Serializable;

/**
 * One unit of work: a range of consecutive blocks of one tensor. Units never span tensors; a unit
 * is computed, written and committed as a whole.
 *
 * @param id global unit id, dense from 0 in plan order
 * @param tensor tensor name
 * @param shard the checkpoint file holding the tensor (relative to the model directory)
 * @param firstBlock index of the unit's first block within the tensor
 * @param numBlocks number of blocks in the unit
 */
public record WorkUnit(int id, String tensor, String shard, long firstBlock, int numBlocks)
    implements Serializable {

  /** Zero-padded id used in file names, so that names sort in unit order. */
  public String label() {
    return String.format("unit-%08d", id);
  }
}
