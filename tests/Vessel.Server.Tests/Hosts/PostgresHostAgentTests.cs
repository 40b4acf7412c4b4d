using Vessel.Client.Contracts;
using Vessel.Server.Hosts;
using Vessel.Server.Tests.Infrastructure;
using Vessel.Testing.Hosts;

namespace Vessel.Server.Tests.Hosts;

/// <summary>
/// The hosts on a manager whose inventory is in PostgreSQL (the many-hosts setup): the same
/// code path as on SQLite, with the join tokens' one-time claim, heartbeats and state changes
/// going through Npgsql.
/// </summary>
public sealed class PostgresHostAgentTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    [SkippableFact]
    public async Task AnAgentJoinsAManagerOnPostgresGoesUnreachableAndIsRefusedOnceRemoved()
    {
        string database = postgres.NewDatabase();
        using var temp = new TempDirectory();
        using Manager manager = await Manager.StartAsync(temp.File("manager"), "--database", database);
        HostCreated added = await manager.AddHostAsync("pg-edge");
        string directory = temp.File("agent");
        using (AgentProcess agent = AgentProcess.Join(directory, manager, added.JoinToken))
        {
            HostInfo up = await manager.WaitForStateAsync("pg-edge", HostStates.Up, agent);
            Assert.Equal(Environment.ProcessorCount, up.Harts);
            Assert.Equal(HostCapacity.ReadMemory().Total, up.MemoryTotalBytes);

            // The token was claimed in PostgreSQL: a second join with it is refused.
            using AgentProcess second = AgentProcess.Join(temp.File("second"), manager, added.JoinToken);
            (int secondExit, string secondLine) = await second.WaitForExitAsync();
            Assert.NotEqual(0, secondExit);
            HostAgentTests.AssertRefusal(secondLine, "was used already");

            agent.Kill();
            await manager.WaitForStateAsync("pg-edge", HostStates.Unreachable);
        }

        await manager.Serve.Client.RemoveHostAsync("pg-edge");
        using AgentProcess refused = AgentProcess.Start(directory);
        (int exit, string last) = await refused.WaitForExitAsync();
        Assert.NotEqual(0, exit);
        HostAgentTests.AssertRefusal(last, "was removed");
        Assert.True((await manager.HostAsync(HostService.LocalAlias)).Local);
    }
}
