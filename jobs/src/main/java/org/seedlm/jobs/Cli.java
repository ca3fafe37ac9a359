package org.seedlm.jobs;

public final class Cli {
  public static void main(String[] args) {}
}
