using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Vessel.Server.Inventory.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class AuditAndLicensing : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "AuditEntries",
                columns: table => new
                {
                    Sequence = table.Column<long>(type: "INTEGER", nullable: false),
                    Time = table.Column<DateTime>(type: "TEXT", nullable: false),
                    User = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    Source = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Action = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Object = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    Status = table.Column<int>(type: "INTEGER", nullable: false),
                    Detail = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: true),
                    OperationId = table.Column<Guid>(type: "TEXT", nullable: true),
                    PreviousHash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Hash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AuditEntries", x => x.Sequence);
                });

            migrationBuilder.CreateTable(
                name: "AuditState",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    HeadSequence = table.Column<long>(type: "INTEGER", nullable: false),
                    HeadHash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    CheckpointSequence = table.Column<long>(type: "INTEGER", nullable: false),
                    CheckpointHash = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    RetentionDays = table.Column<int>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AuditState", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "LicenseState",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false),
                    EvaluationStartedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    LicenseText = table.Column<string>(type: "TEXT", maxLength: 16384, nullable: true),
                    InstalledAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    InstalledBy = table.Column<string>(type: "TEXT", maxLength: 255, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LicenseState", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_AuditEntries_Action",
                table: "AuditEntries",
                column: "Action");

            migrationBuilder.CreateIndex(
                name: "IX_AuditEntries_Time",
                table: "AuditEntries",
                column: "Time");

            migrationBuilder.CreateIndex(
                name: "IX_AuditEntries_User",
                table: "AuditEntries",
                column: "User");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "AuditEntries");

            migrationBuilder.DropTable(
                name: "AuditState");

            migrationBuilder.DropTable(
                name: "LicenseState");
        }
    }
}
