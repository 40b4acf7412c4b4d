using System.Buffers.Binary;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio.Scsi;
using static Vessel.Machine.Virtio.Scsi.VirtioScsiProtocol;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio.Scsi;

/// <summary>What a SCSI command came back with.</summary>
public sealed record ScsiResult(byte Response, byte Status, byte[] Sense, uint Residual, byte[] Data, uint UsedLength)
{
    public byte SenseKey => Sense.Length > 2 ? (byte)(Sense[2] & 0xf) : (byte)0;

    public (byte Key, byte Asc, byte Ascq) SenseCode => Sense.Length >= 14 ? ((byte)(Sense[2] & 0xf), Sense[12], Sense[13]) : default;

    public bool Good => Response == ResponseOk && Status == ScsiStatus.Good;
}

/// <summary>A virtio-scsi driver for the tests, written from the specification: one request per call, on the request queue.</summary>
public sealed class ScsiDriver : IDisposable
{
    public const int ResponseSize = ResponseHeaderSize + DefaultSenseSize;

    public ScsiDriver(IReadOnlyDictionary<int, ScsiLogicalUnit> targets)
    {
        Device = new VirtioScsiDevice(targets);
        Harness = new VirtioHarness(Device, 8 << 20);
        VirtqueueDriver[] queues = Harness.Start();
        Control = queues[VirtioScsiDevice.ControlQueue];
        Requests = queues[VirtioScsiDevice.RequestQueue];
    }

    public VirtioScsiDevice Device { get; }

    public VirtioHarness Harness { get; }

    public VirtqueueDriver Control { get; }

    public VirtqueueDriver Requests { get; }

    public static byte[] Lun(int target, int lun = 0) => [1, (byte)target, (byte)(0x40 | (lun >> 8)), (byte)lun, 0, 0, 0, 0];

    /// <summary>Runs one command: <paramref name="dataIn"/> bytes of room for data from the device, or <paramref name="dataOut"/> to it.</summary>
    public ScsiResult Run(int target, byte[] cdb, int dataIn = 0, byte[]? dataOut = null, int lun = 0, byte[]? lunField = null)
    {
        byte[] header = new byte[RequestHeaderSize + DefaultCdbSize];
        (lunField ?? Lun(target, lun)).CopyTo(header, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), 0x1234);
        cdb.CopyTo(header, RequestHeaderSize);
        var buffers = new List<Buffer> { Buffer.Readable(Harness.Allocator.Place(header), header.Length) };
        if (dataOut is { Length: > 0 })
        {
            buffers.Add(Buffer.Readable(Harness.Allocator.Place(dataOut), dataOut.Length));
        }

        ulong response = Harness.Allocator.Allocate(ResponseSize);
        Harness.Memory.GetWriteSpan(response, ResponseSize).Fill(0xee);
        buffers.Add(Buffer.Writable(response, ResponseSize));
        ulong data = 0;
        if (dataIn > 0)
        {
            data = Harness.Allocator.Allocate((ulong)dataIn);
            Harness.Memory.GetWriteSpan(data, dataIn).Clear();
            buffers.Add(Buffer.Writable(data, dataIn));
        }

        Requests.Add([.. buffers]);
        Harness.Driver.Notify(VirtioScsiDevice.RequestQueue);
        (_, uint used) = Requests.WaitUsed("a SCSI response");
        ReadOnlySpan<byte> r = Harness.Memory.GetReadSpan(response, ResponseSize);
        uint senseLength = BinaryPrimitives.ReadUInt32LittleEndian(r);
        uint residual = BinaryPrimitives.ReadUInt32LittleEndian(r[4..]);
        int transferred = dataIn - (int)Math.Min(residual, (uint)dataIn);
        return new ScsiResult(
            r[11],
            r[10],
            r.Slice(ResponseHeaderSize, (int)Math.Min(senseLength, DefaultSenseSize)).ToArray(),
            residual,
            dataIn > 0 ? Harness.Memory.GetReadSpan(data, transferred).ToArray() : [],
            used);
    }

    /// <summary>Runs TEST UNIT READY until the power-on unit attention is gone.</summary>
    public void ClearUnitAttention(int target)
    {
        for (int i = 0; i < 4 && !Run(target, [ScsiOpcode.TestUnitReady, 0, 0, 0, 0, 0]).Good; i++)
        {
        }
    }

    public void Dispose() => Harness.Dispose();
}
