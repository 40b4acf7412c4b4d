// Each integration test runs whole virtual machines (sometimes two or three at once): run the
// test classes one after another so that VMs do not starve each other on small CI machines.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
