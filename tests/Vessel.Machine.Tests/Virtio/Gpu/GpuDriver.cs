using System.Buffers.Binary;
using Vessel.Machine.Display;
using Vessel.Machine.Tests.Virtio.Support;
using Vessel.Machine.Virtio.Gpu;
using static Vessel.Machine.Virtio.Gpu.VirtioGpuProtocol;
using Buffer = Vessel.Machine.Tests.Virtio.Support.Buffer;

namespace Vessel.Machine.Tests.Virtio.Gpu;

/// <summary>
/// A virtio-gpu driver for the tests, written from the specification: builds each command's
/// structure, posts it with a response buffer on the control queue and reads the response.
/// </summary>
public sealed class GpuDriver : IDisposable
{
    public GpuDriver(VirtioGpuOptions? options = null, ulong features = ulong.MaxValue, ulong ramSize = 8 << 20)
    {
        Console = new DisplayConsole();
        Device = new VirtioGpuDevice(Console, options);
        Harness = new VirtioHarness(Device, ramSize);
        VirtqueueDriver[] queues = Harness.Start(features);
        Control = queues[VirtioGpuDevice.ControlQueue];
        Cursor = queues[VirtioGpuDevice.CursorQueue];
    }

    public DisplayConsole Console { get; }

    public VirtioGpuDevice Device { get; }

    public VirtioHarness Harness { get; }

    public VirtqueueDriver Control { get; }

    public VirtqueueDriver Cursor { get; }

    /// <summary>Builds a command: the control header (type, flags, fence) followed by 32-bit fields.</summary>
    public static byte[] Command(uint type, params uint[] fields) => CommandWithFence(type, 0, 0, fields);

    public static byte[] CommandWithFence(uint type, uint flags, ulong fence, params uint[] fields)
    {
        byte[] command = new byte[HeaderSize + (fields.Length * 4)];
        BinaryPrimitives.WriteUInt32LittleEndian(command, type);
        BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(command.AsSpan(8), fence);
        BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(16), 7); // ctx_id, echoed with a fence
        for (int i = 0; i < fields.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(command.AsSpan(HeaderSize + (i * 4)), fields[i]);
        }

        return command;
    }

    /// <summary>Sends a command with a response buffer of <paramref name="responseSize"/> bytes; returns the response bytes the device wrote.</summary>
    public byte[] Send(byte[] command, int responseSize = HeaderSize, params Buffer[] extraReadable)
    {
        ulong request = Harness.Allocator.Place(command);
        ulong response = Harness.Allocator.Allocate((ulong)Math.Max(responseSize, 1));
        Harness.Memory.GetWriteSpan(response, Math.Max(responseSize, 1)).Fill(0xee);
        Buffer[] buffers = [Buffer.Readable(request, command.Length), .. extraReadable, Buffer.Writable(response, responseSize)];
        Control.Add(buffers);
        Harness.Driver.Notify(VirtioGpuDevice.ControlQueue);
        (_, uint length) = Control.WaitUsed("a virtio-gpu response");
        return Harness.Memory.GetReadSpan(response, (int)length).ToArray();
    }

    /// <summary>Sends a command and returns the response type.</summary>
    public uint Run(byte[] command) => ResponseType(Send(command));

    public static uint ResponseType(byte[] response) => BinaryPrimitives.ReadUInt32LittleEndian(response);

    public uint CreateResource(uint id, int width, int height, uint format = FormatB8G8R8X8) =>
        Run(Command(CmdResourceCreate2D, id, format, (uint)width, (uint)height));

    /// <summary>Allocates guest memory for a resource's pixels (in <paramref name="pieces"/> entries) and attaches it; returns the backing's address.</summary>
    public ulong AttachBacking(uint id, int bytes, int pieces = 1)
    {
        ulong backing = Harness.Allocator.Allocate((ulong)bytes, 4096);
        int piece = bytes / pieces;
        var fields = new List<uint> { id, (uint)pieces };
        for (int i = 0; i < pieces; i++)
        {
            ulong address = backing + (ulong)(i * piece);
            int length = i == pieces - 1 ? bytes - (i * piece) : piece;
            fields.AddRange([(uint)address, (uint)(address >> 32), (uint)length, 0]);
        }

        Assert.Equal(RespOkNoData, Run(Command(CmdResourceAttachBacking, [.. fields])));
        return backing;
    }

    public uint SetScanout(uint scanout, uint id, int x, int y, int width, int height) =>
        Run(Command(CmdSetScanout, (uint)x, (uint)y, (uint)width, (uint)height, scanout, id));

    public uint Transfer(uint id, int x, int y, int width, int height, ulong offset = 0) =>
        Run(Command(CmdTransferToHost2D, (uint)x, (uint)y, (uint)width, (uint)height, (uint)offset, (uint)(offset >> 32), id, 0));

    public uint Flush(uint id, int x, int y, int width, int height) =>
        Run(Command(CmdResourceFlush, (uint)x, (uint)y, (uint)width, (uint)height, id, 0));

    /// <summary>Sends a cursor command on the cursor queue and waits for it to come back.</summary>
    public void SendCursor(uint type, uint scanout, int x, int y, uint id, int hotX, int hotY)
    {
        byte[] command = Command(type, scanout, (uint)x, (uint)y, 0, id, (uint)hotX, (uint)hotY, 0);
        ulong request = Harness.Allocator.Place(command);
        Cursor.Add(Buffer.Readable(request, command.Length));
        Harness.Driver.Notify(VirtioGpuDevice.CursorQueue);
        Cursor.WaitUsed("a cursor command back");
    }

    /// <summary>A whole screen set up: resource 1 of the given size with backing, on scanout 0; returns the backing's address.</summary>
    public ulong SetUpScreen(int width, int height)
    {
        Assert.Equal(RespOkNoData, CreateResource(1, width, height));
        ulong backing = AttachBacking(1, width * height * 4, pieces: 3);
        Assert.Equal(RespOkNoData, SetScanout(0, 1, 0, 0, width, height));
        return backing;
    }

    public void Dispose() => Harness.Dispose();
}
