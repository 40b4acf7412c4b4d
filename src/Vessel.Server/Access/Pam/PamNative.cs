using System.Runtime.InteropServices;

namespace Vessel.Server.Access.Pam;

/// <summary>
/// The one place that calls Linux-PAM (libpam.so.0): authenticate a user name and password
/// through a PAM service (<c>pam_start</c>, <c>pam_authenticate</c>, <c>pam_acct_mgmt</c>,
/// <c>pam_end</c>), answering PAM's password prompts from a conversation callback.
/// </summary>
internal static unsafe partial class PamNative
{
    private const string Library = "libpam.so.0";
    private const int Success = 0;
    private const int ConversationError = 19; // PAM_CONV_ERR
    private const int PromptEchoOff = 1; // PAM_PROMPT_ECHO_OFF
    private const int DisallowNullAuthTok = 0x1; // PAM_DISALLOW_NULL_AUTHTOK

    [StructLayout(LayoutKind.Sequential)]
    private struct PamMessage
    {
        public int Style;
        public byte* Text;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PamResponse
    {
        public byte* Response;
        public int ReturnCode;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Secret
    {
        public byte* Text;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PamConversation
    {
        public delegate* unmanaged<int, PamMessage**, PamResponse**, void*, int> Callback;
        public void* ApplicationData;
    }

    [LibraryImport(Library, EntryPoint = "pam_start", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Start(string service, string user, PamConversation* conversation, void** handle);

    [LibraryImport(Library, EntryPoint = "pam_authenticate")]
    private static partial int Authenticate(void* handle, int flags);

    [LibraryImport(Library, EntryPoint = "pam_acct_mgmt")]
    private static partial int AccountManagement(void* handle, int flags);

    [LibraryImport(Library, EntryPoint = "pam_end")]
    private static partial int End(void* handle, int status);

    /// <summary>Whether PAM's <paramref name="service"/> accepts the user's password and account (not expired, not locked).</summary>
    public static bool Check(string service, string user, string password)
    {
        // The password travels to the callback as a UTF-8 copy in unmanaged memory (with its
        // length: the callback copies exactly that), wiped and freed when PAM is done with it.
        int length = System.Text.Encoding.UTF8.GetByteCount(password);
        byte* secret = (byte*)NativeMemory.AllocZeroed((nuint)length + 1);
        try
        {
            System.Text.Encoding.UTF8.GetBytes(password, new Span<byte>(secret, length));
            // Safe: the conversation struct lives on this stack frame, and PAM uses it only
            // between pam_start and pam_end, both of which return before the frame does.
            Secret answer = new() { Text = secret, Length = (nuint)length };
            PamConversation conversation = new() { Callback = &Converse, ApplicationData = &answer };
            void* handle = null;
            int status = Start(service, user, &conversation, &handle);
            if (status != Success)
            {
                return false;
            }

            status = Authenticate(handle, DisallowNullAuthTok);
            if (status == Success)
            {
                status = AccountManagement(handle, DisallowNullAuthTok);
            }

            End(handle, status);
            return status == Success;
        }
        finally
        {
            NativeMemory.Clear(secret, (nuint)length);
            NativeMemory.Free(secret);
        }
    }

    /// <summary>
    /// PAM's conversation: every prompt is answered with the password (echo off) or nothing
    /// (other prompts). PAM frees the answers with free(), so they are allocated with malloc
    /// (NativeMemory.Alloc is malloc on Linux).
    /// </summary>
    [UnmanagedCallersOnly]
    private static int Converse(int count, PamMessage** messages, PamResponse** responses, void* applicationData)
    {
        if (count <= 0 || count > 32)
        {
            return ConversationError;
        }

        // Safe: PAM passes count messages (Linux-PAM's layout: an array of pointers), and the
        // answer array has count entries allocated here and handed to PAM, which frees them.
        var answers = (PamResponse*)NativeMemory.AllocZeroed((nuint)count, (nuint)sizeof(PamResponse));
        Secret* password = (Secret*)applicationData;
        for (int i = 0; i < count; i++)
        {
            // The user is given to pam_start, so the only question that matters is the hidden
            // one; anything else (an informational text) is answered with nothing.
            if (messages[i]->Style == PromptEchoOff)
            {
                byte* copy = (byte*)NativeMemory.AllocZeroed(password->Length + 1);
                NativeMemory.Copy(password->Text, copy, password->Length);
                answers[i].Response = copy;
            }
        }

        *responses = answers;
        return Success;
    }
}
